"""Handle lifetimes across threads, the RNG hook, and secrets in caller
buffers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import paramcrypt
from paramcrypt import EncryptionFailed, KeyPair, Mode, PublicKey, RngError, Server, Session, Status

PYTHON_DIR = Path(__file__).resolve().parents[1]


def run_isolated(code: str) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter: a crash (SIGSEGV, double free)
    fails this test instead of killing the test run."""
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=300
    )


def test_closing_a_key_pair_while_threads_use_it_is_safe(data_dir: Path) -> None:
    # Before leases, close() freed the Rust object under running unwrap()
    # calls: a crash, or a corrupted key, in most runs of this script.
    result = run_isolated(f"""
        import threading, time
        from paramcrypt import KeyPair, Session
        pem = open({str(data_dir / "keys" / "rsa2048_pkcs8.pem")!r}).read()
        outcomes = {{"ok": 0, "closed": 0, "other": 0}}
        lock = threading.Lock()
        for trial in range(50):
            key = KeyPair.from_pem(pem)
            enc_key = Session.new().wrap(key.public_key())
            start = threading.Barrier(5)
            def work():
                start.wait()
                for _ in range(3):
                    try:
                        key.unwrap(enc_key).close()
                        outcome = "ok"
                    except ValueError:
                        outcome = "closed"
                    except Exception:
                        outcome = "other"
                    with lock:
                        outcomes[outcome] += 1
            threads = [threading.Thread(target=work) for _ in range(4)]
            for t in threads:
                t.start()
            start.wait()
            time.sleep(0.001)  # the unwraps are under way
            key.close()
            reuse = [KeyPair.from_pem(pem) for _ in range(3)]  # would reuse freed memory
            for t in threads:
                t.join()
        print(outcomes["ok"], outcomes["closed"], outcomes["other"])
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    ok, closed, other = map(int, result.stdout.split())
    assert other == 0, "every outcome is a result or ValueError"
    assert ok + closed == 50 * 4 * 3
    assert ok > 0 and closed > 0


def test_concurrent_closes_free_once() -> None:
    result = run_isolated("""
        import threading
        from paramcrypt import Session
        for trial in range(50):
            sessions = [Session.new() for _ in range(20)]
            start = threading.Barrier(3)
            def close_all():
                start.wait()
                for s in sessions:
                    s.close()
            threads = [threading.Thread(target=close_all) for _ in range(2)]
            for t in threads:
                t.start()
            start.wait()
            for s in sessions:
                s.close()
            for t in threads:
                t.join()
        print("done")
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "done"


def test_a_closed_handle_raises_value_error(key_2048: KeyPair) -> None:
    session = Session.new()
    session.close()
    for call in (lambda: session.encrypt("x"), lambda: session.mode, lambda: session.wrap(key_2048.public_key())):
        with pytest.raises(ValueError, match="closed"):
            call()
    public_key = key_2048.public_key()
    public_key.close()
    with pytest.raises(ValueError, match="closed"):
        Session.new().wrap(public_key)


class Counter:
    """A deterministic RNG for tests (not random); `start` keeps the answers of
    different tests apart, since the library remembers recent answers."""

    def __init__(self, start: int) -> None:
        self.next = start

    def __call__(self, n: int) -> bytes:
        out = bytes((self.next + i) % 251 for i in range(n))
        self.next += n
        return out


def test_the_rng_hook_makes_the_session() -> None:
    session = Session.new(rng=Counter(start=17))
    assert session.decrypt(session.encrypt("hello")) == b"hello"
    per_message = Session.new(Mode.PER_MESSAGE_IV, rng=Counter(start=101))
    assert per_message.decrypt(per_message.encrypt("x", rng=Counter(start=181))) == b"x"


def test_an_rng_that_repeats_itself_across_calls_is_rng_error() -> None:
    # An RNG reseeded the same way for every call. Before the check across
    # calls, both sessions had the same key and IV: the same ciphertext for
    # the same text.
    Session.new(rng=Counter(start=43))
    with pytest.raises(RngError):
        Session.new(rng=Counter(start=43))
    # Also across operations: a per-message IV drawn as an earlier key was.
    Session.new(rng=Counter(start=71))
    per_message = Session.new(Mode.PER_MESSAGE_IV, rng=Counter(start=131))
    with pytest.raises(RngError):
        per_message.encrypt("x", rng=Counter(start=71))


def test_an_rng_failure_is_rng_error_never_a_session(key_2048: KeyPair) -> None:
    class Broken(Exception):
        pass

    def raising(n: int) -> bytes:
        raise Broken("hardware RNG down")

    # Before the hook, a raising callback returned 0 through ctypes and the
    # session had an all-zero key and IV.
    with pytest.raises(RngError) as info:
        Session.new(rng=raising)
    assert isinstance(info.value.__cause__, Broken)
    assert info.value.code == Status.RNG
    for bad in (lambda n: b"", lambda n: bytes(n + 1), lambda n: "text"):
        with pytest.raises(RngError):
            Session.new(rng=bad)  # type: ignore[arg-type]
    # Answers that "succeed" but are not random: the library's health check.
    for constant in (lambda n: bytes(n), lambda n: b"\xa5" * n):
        with pytest.raises(RngError):
            Session.new(rng=constant)
    session = Session.new()
    with pytest.raises(RngError):
        session.wrap(key_2048.public_key(), rng=raising)
    with pytest.raises(RngError):
        Server(key_2048, rng=raising)
    with pytest.raises(RngError):
        KeyPair.generate(2048, rng=raising)
    with pytest.raises(TypeError):
        Session.new(rng="not callable")  # type: ignore[arg-type]


def test_secrets_in_bytearrays_are_used_in_place_and_decrypted_into_one(key_2048: KeyPair) -> None:
    session = Session.new()
    secret = bytearray(b"correct horse battery staple")
    value = session.encrypt(secret)
    assert session.decrypt(value) == bytes(secret)
    assert session.encrypt(memoryview(secret)) == value
    out = bytearray(64)
    n = session.decrypt_into(value, out)
    assert out[:n] == secret
    out[:] = bytes(len(out))  # the caller wipes its buffer
    with pytest.raises(ValueError, match="needed"):
        session.decrypt_into(value, bytearray(8))
    with pytest.raises(TypeError):
        session.decrypt_into(value, b"read-only")  # type: ignore[arg-type]
    # A server session too, and a bad value is still the uniform failure.
    server = Server(key_2048)
    opened = server.open(session.wrap(key_2048.public_key()), peer="192.0.2.10")
    assert opened.decrypt_into(value, out) == len(secret)
    with pytest.raises(EncryptionFailed):
        opened.decrypt_into("AAAA", out)
    # Keys from bytearrays.
    pem = bytearray(key_2048.to_pem().encode())
    assert KeyPair.from_pem(pem).bits == 2048
    assert PublicKey.from_base64(bytearray(key_2048.public_key_base64().encode())).bits == 2048


def test_the_rsa_backend_is_named_and_decides_whether_unwrap_asks_the_rng(key_2048: KeyPair) -> None:
    backend = paramcrypt.rsa_backend()
    assert backend in ("aws-lc", "rsa-crate", "compact")

    def unplugged(n: int) -> bytes:
        raise OSError("hardware RNG unplugged")

    enc_key = Session.new().wrap(key_2048.public_key())
    if backend == "aws-lc":
        # AWS-LC blinds with its own generator: the hook is not called.
        assert key_2048.unwrap(enc_key, rng=unplugged).mode == Mode.KEY_IV
    else:
        with pytest.raises(RngError):
            key_2048.unwrap(enc_key, rng=unplugged)


def test_decrypt_copies_its_output_once() -> None:
    """A 4 MiB secret decrypted to bytes: the C buffer and the result, about
    twice the output at the peak (slicing the ctypes array built a list of
    ints on the way: some ten times the output, left unwiped)."""
    import tracemalloc

    session = Session.new()
    size = 4 << 20
    value = session.encrypt(bytes(size)).encode("ascii")  # bytes: no encoding copy
    tracemalloc.start()
    try:
        plaintext = session.decrypt(value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plaintext == bytes(size)
    assert peak <= 2.1 * size, f"peak {peak / size:.2f} times the output"


def test_a_lone_surrogate_from_the_wire_is_40002_not_unicode_error(key_2048: KeyPair) -> None:
    # JSON's "\ud800" decodes to a str that UTF-8 cannot encode. Before, every
    # wire input raised UnicodeEncodeError (the example server answered it
    # with a traceback); now it is a malformed value like any other.
    lone = json.loads('"\\ud800"')
    with pytest.raises(EncryptionFailed):
        key_2048.unwrap(lone)
    session = Session.new()
    with pytest.raises(EncryptionFailed):
        session.decrypt(lone)
    server = Server(key_2048)
    with pytest.raises(EncryptionFailed):
        server.open(lone, peer=lone)
    enc_key = session.wrap(key_2048.public_key())
    with server.open(enc_key, peer="192.0.2.1") as opened, pytest.raises(EncryptionFailed):
        opened.decrypt_text(lone + "AAAA")
    # Plaintext is the caller's, not a peer's: still a ValueError there.
    with pytest.raises(UnicodeEncodeError):
        session.encrypt(lone)
