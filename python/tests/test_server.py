"""The Server object: the encKey cache, the failure policy (refusal windows,
lockdown of a peer, events, statistics, state across a restart, text and
reported failures), accepted modes, and threads sharing one server. Time
runs on a fake clock."""

from __future__ import annotations

import base64
import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from paramcrypt import (
    AcceptedModes,
    EncryptionFailed,
    FailurePolicy,
    InvalidState,
    KeyPair,
    Mode,
    Padding,
    ParamcryptError,
    PublicKey,
    Server,
    ServerEvent,
    ServerEventKind,
    Session,
    Status,
)

FORGED = base64.b64encode(b"\x5a" * 17).decode()  # no whole number of blocks: always fails
PEER = "192.0.2.10"
ATTACKER = "192.0.2.66"


class FakeClock:
    """Seconds that pass when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(public_key: PublicKey, mode: Mode = Mode.KEY_IV) -> tuple[Session, str]:
    session = Session.new(mode)
    return session, session.wrap(public_key)


def test_open_decrypt_and_reply(key_2048: KeyPair) -> None:
    with Server(key_2048) as server, server.public_key() as public_key:
        assert server.public_key_base64() == key_2048.public_key_base64()
        session, enc_key = client(public_key)
        value = session.encrypt("correct horse")
        with server.open(enc_key, peer=PEER) as opened:
            assert opened.mode == Mode.KEY_IV
            assert opened.decrypt(value) == b"correct horse"
            assert session.decrypt(opened.encrypt("stored")) == b"stored"
        with server.open(enc_key, peer=PEER) as again:
            assert again.key_id == server.open(enc_key, peer=PEER).key_id
            assert again.key_id != server.open(client(public_key)[1], peer=PEER).key_id


def test_a_failure_refuses_the_common_key_for_its_window(key_2048: KeyPair) -> None:
    clock = FakeClock()
    server = Server(key_2048, clock=clock)
    public_key = server.public_key()
    session, enc_key = client(public_key)
    value = session.encrypt("secret")
    opened = server.open(enc_key, peer=ATTACKER)
    with pytest.raises(EncryptionFailed):
        opened.decrypt(FORGED)
    with pytest.raises(EncryptionFailed):
        opened.decrypt(value)
    with pytest.raises(EncryptionFailed):
        opened.encrypt("chosen plaintext")
    for refused in (enc_key, enc_key[:76] + "\r\n" + enc_key[76:], session.wrap(public_key)):
        with pytest.raises(EncryptionFailed) as info:
            server.open(refused, peer=PEER)
        assert info.value.code == 40002
    # An honest client starts over with a new key and is served.
    fresh, fresh_key = client(public_key)
    assert server.open(fresh_key, peer=PEER).decrypt(fresh.encrypt("again")) == b"again"
    # A client that keeps its key is served again after the window (10 s).
    clock.now += 10
    assert server.open(session.wrap(public_key), peer=PEER).decrypt(value) == b"secret"
    stats = server.stats()
    assert (stats.failures, stats.remembered_keys, stats.remembered_peers) == (1, 1, 1)


def test_a_peer_past_its_limit_is_locked_down_and_the_event_is_reported(key_2048: KeyPair) -> None:
    clock = FakeClock()
    events: list[ServerEvent] = []
    server = Server(key_2048, clock=clock, on_event=events.append)
    public_key = server.public_key()
    for _ in range(10):
        _, enc_key = client(public_key)
        with pytest.raises(EncryptionFailed):
            server.open(enc_key, peer=ATTACKER).decrypt(FORGED)
    assert events == [ServerEvent(ServerEventKind.PEER_LOCKDOWN_STARTED, ATTACKER.encode(), 3600)]
    session, enc_key = client(public_key)
    value = session.encrypt("ok")
    unwraps = server.stats().unwraps
    with pytest.raises(EncryptionFailed):
        server.open(enc_key, peer=ATTACKER)
    assert server.stats().unwraps == unwraps, "no RSA work in lockdown"
    assert server.open(enc_key, peer=PEER).decrypt(value) == b"ok"
    clock.now += 3600
    assert server.open(enc_key, peer=ATTACKER).decrypt(value) == b"ok"
    assert events[-1] == ServerEvent(ServerEventKind.PEER_LOCKDOWN_ENDED, ATTACKER.encode(), 0)
    stats = server.stats()
    assert (stats.peer_lockdowns, stats.lockdown_answers, stats.failures) == (1, 1, 10)


def test_the_default_event_hook_logs_a_warning(key_2048: KeyPair, caplog: pytest.LogCaptureFixture) -> None:
    policy = dataclasses.replace(FailurePolicy.server(), peer_failure_limit=1)
    server = Server(key_2048, policy=policy)
    _, enc_key = client(server.public_key())
    with caplog.at_level(logging.WARNING, logger="paramcrypt"), pytest.raises(EncryptionFailed):
        server.open(enc_key, peer=ATTACKER).decrypt(FORGED)
    assert "peer_lockdown_started (peer 192.0.2.66, 3600 s)" in caplog.text
    assert enc_key not in caplog.text


def test_the_state_survives_a_restart_and_a_foreign_blob_is_refused(key_2048: KeyPair, key_1024: KeyPair) -> None:
    server = Server(key_2048, clock=FakeClock())
    session, enc_key = client(server.public_key())
    with pytest.raises(EncryptionFailed):
        server.open(enc_key, peer=ATTACKER).decrypt(FORGED)
    state = server.export_state()
    server.close()
    restarted = Server(key_2048, clock=FakeClock(), state=state)
    with pytest.raises(EncryptionFailed):
        restarted.open(enc_key, peer=PEER)  # still inside its window
    assert restarted.stats().remembered_keys == 1
    corrupted = bytearray(state)
    corrupted[len(corrupted) // 2] ^= 1
    for bad, key in ((bytes(corrupted), key_2048), (state[:-1], key_2048), (state, key_1024)):
        with pytest.raises(InvalidState) as info:
            Server(key, state=bad)
        assert info.value.code == Status.INVALID_STATE


def test_text_that_is_not_utf8_and_reported_failures_count(key_2048: KeyPair) -> None:
    server = Server(key_2048)
    session, enc_key = client(server.public_key())
    opened = server.open(enc_key, peer=PEER)
    assert opened.decrypt_text(session.encrypt("héllo")) == "héllo"
    opened.report_failure()  # the application rejected the value
    with pytest.raises(EncryptionFailed):
        opened.decrypt_text(session.encrypt("again"))
    other, other_key = client(server.public_key())
    with pytest.raises(EncryptionFailed):
        server.open(other_key, peer=PEER).decrypt_text(other.encrypt(b"\xff\xfe"))
    assert server.stats().failures == 2


@pytest.mark.parametrize(
    ("modes", "accepted"),
    [
        (AcceptedModes.KEY_IV, {Mode.KEY_IV}),
        (AcceptedModes.PER_MESSAGE_IV, {Mode.PER_MESSAGE_IV}),
        (AcceptedModes.BOTH, {Mode.KEY_IV, Mode.PER_MESSAGE_IV}),
    ],
)
def test_only_the_configured_modes_are_accepted(key_2048: KeyPair, modes: AcceptedModes, accepted: set[Mode]) -> None:
    server = Server(key_2048, Padding.OAEP_SHA256, modes)
    for mode in Mode:
        session = Session.new(mode)
        enc_key = session.wrap(key_2048.public_key(), Padding.OAEP_SHA256)
        if mode in accepted:
            assert server.open(enc_key, peer=PEER).decrypt(session.encrypt("x")) == b"x"
        else:
            with pytest.raises(EncryptionFailed):
                server.open(enc_key, peer=PEER)


def test_configuration_is_checked(key_2048: KeyPair) -> None:
    with pytest.raises(ParamcryptError) as info:
        Server(key_2048, refusal_capacity=0)
    assert info.value.code == Status.INVALID_ARGUMENT
    with pytest.raises(ValueError):
        Server(key_2048, cache_capacity=-1)
    with pytest.raises(TypeError):
        Server("not a key pair")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Server(key_2048, modes=7)  # type: ignore[arg-type]
    with pytest.raises(ParamcryptError):
        Server(key_2048, policy=dataclasses.replace(FailurePolicy.server(), key_failure_budget=0))
    with pytest.raises(TypeError):
        Server(key_2048, policy=dataclasses.replace(FailurePolicy.server(), peer_failure_limit="10"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        server = Server(key_2048)
        server.open("AAAA")  # type: ignore[call-arg]
    Server(key_2048, cache_capacity=0, refusal_capacity=1, peer_capacity=1).close()
    assert FailurePolicy.firmware().unwrap_limit == 30
    assert FailurePolicy.server().unwrap_limit == 0


def test_threads_share_one_server(key_2048: KeyPair) -> None:
    server = Server(key_2048, cache_capacity=64)
    public_key = server.public_key()
    clients = [client(public_key) for _ in range(16)]

    def work(i: int) -> int:
        session, enc_key = clients[i % len(clients)]
        with server.open(enc_key, peer=PEER) as opened:
            assert opened.decrypt(session.encrypt(f"request {i}")) == f"request {i}".encode()
        return i

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(work, range(200))) == list(range(200))
