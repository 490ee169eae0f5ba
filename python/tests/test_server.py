"""The Server object: the encKey cache, refusal after a failure, accepted
modes, and threads sharing one server."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import pytest

from paramcrypt import (
    AcceptedModes,
    EncryptionFailed,
    KeyPair,
    Mode,
    Padding,
    ParamcryptError,
    PublicKey,
    Server,
    Session,
    Status,
)

FORGED = base64.b64encode(b"\x5a" * 17).decode()  # no whole number of blocks: always fails


def client(public_key: PublicKey, mode: Mode = Mode.KEY_IV) -> tuple[Session, str]:
    session = Session.new(mode)
    return session, session.wrap(public_key)


def test_open_decrypt_and_reply(key_2048: KeyPair) -> None:
    with Server(key_2048) as server, server.public_key() as public_key:
        assert server.public_key_base64() == key_2048.public_key_base64()
        session, enc_key = client(public_key)
        value = session.encrypt("correct horse")
        with server.open(enc_key) as opened:
            assert opened.mode == Mode.KEY_IV
            assert opened.decrypt(value) == b"correct horse"
            assert session.decrypt(opened.encrypt("stored")) == b"stored"
        with server.open(enc_key) as again:
            assert again.key_id == server.open(enc_key).key_id
            assert again.key_id != server.open(client(public_key)[1]).key_id


def test_a_failure_refuses_the_common_key(key_2048: KeyPair) -> None:
    server = Server(key_2048)
    public_key = server.public_key()
    session, enc_key = client(public_key)
    value = session.encrypt("secret")
    opened = server.open(enc_key)
    with pytest.raises(EncryptionFailed):
        opened.decrypt(FORGED)
    with pytest.raises(EncryptionFailed):
        opened.decrypt(value)
    with pytest.raises(EncryptionFailed):
        opened.encrypt("chosen plaintext")
    for refused in (enc_key, enc_key[:76] + "\r\n" + enc_key[76:], session.wrap(public_key)):
        with pytest.raises(EncryptionFailed) as info:
            server.open(refused)
        assert info.value.code == 40002
    # An honest client starts over with a new key and is served.
    fresh, fresh_key = client(public_key)
    assert server.open(fresh_key).decrypt(fresh.encrypt("again")) == b"again"


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
            assert server.open(enc_key).decrypt(session.encrypt("x")) == b"x"
        else:
            with pytest.raises(EncryptionFailed):
                server.open(enc_key)


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
    Server(key_2048, cache_capacity=0, refusal_capacity=1).close()


def test_threads_share_one_server(key_2048: KeyPair) -> None:
    server = Server(key_2048, cache_capacity=64)
    public_key = server.public_key()
    clients = [client(public_key) for _ in range(16)]

    def work(i: int) -> int:
        session, enc_key = clients[i % len(clients)]
        with server.open(enc_key) as opened:
            assert opened.decrypt(session.encrypt(f"request {i}")) == f"request {i}".encode()
        return i

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(work, range(200))) == list(range(200))
