"""Round trips for every option, key formats, and handle life cycles."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from paramcrypt import InvalidKey, KeyPair, Mode, Padding, PublicKey, Session, UnsupportedKeySize, library_version

PLAINTEXTS = ["", "secret", "exactly 16 bytes", "Zürich — パスワード — 🔑", "x" * 5000]


@pytest.mark.parametrize("padding", list(Padding))
@pytest.mark.parametrize("mode", list(Mode))
def test_round_trip_every_padding_and_mode(key_2048: KeyPair, padding: Padding, mode: Mode) -> None:
    public_key = PublicKey.from_base64(key_2048.public_key_base64())
    with Session.new(mode) as client:
        enc_key = client.wrap(public_key, padding)
        assert len(enc_key) == public_key.wrapped_len == 344
        with key_2048.unwrap(enc_key, padding) as server:
            assert server.mode == mode
            for text in PLAINTEXTS:
                value = client.encrypt(text)
                assert server.decrypt(value) == text.encode("utf-8")
                assert client.decrypt(server.encrypt(text.encode())) == text.encode()
            # bytes plaintexts, including non-UTF-8
            raw = bytes(range(256))
            assert server.decrypt(client.encrypt(raw)) == raw


def test_key_iv_is_deterministic_and_per_message_is_not(key_1024: KeyPair) -> None:
    key_iv = Session.new(Mode.KEY_IV)
    assert key_iv.encrypt("same") == key_iv.encrypt("same")
    per_message = Session.new(Mode.PER_MESSAGE_IV)
    a, b = per_message.encrypt("same"), per_message.encrypt("same")
    assert a != b and base64.b64decode(a)[:16] != base64.b64decode(b)[:16]


@pytest.mark.parametrize("bits", [2048, 3072])
def test_generate_and_reload(bits: int) -> None:
    key = KeyPair.generate(bits)
    assert key.bits == bits
    pem = key.to_pem()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    for reloaded in (KeyPair.from_pem(pem), KeyPair.from_pem(pem.encode()), KeyPair.from_der(key.to_der())):
        assert reloaded.public_key() == key.public_key()
        assert reloaded.to_der() == key.to_der()
    session = Session.new()
    assert KeyPair.from_pem(pem).unwrap(session.wrap(key.public_key())).decrypt(session.encrypt("k")) == b"k"


def test_1024_bit_keys_load_only_with_the_legacy_opt_in(data_dir: Path) -> None:
    pem = (data_dir / "keys" / "rsa1024_pkcs8.pem").read_text()
    with pytest.raises(InvalidKey):
        KeyPair.from_pem(pem)
    key = KeyPair.from_pem(pem, allow_legacy_1024=True)
    with pytest.raises(InvalidKey):
        KeyPair.from_der(key.to_der())
    assert KeyPair.from_der(key.to_der(), allow_legacy_1024=True).bits == 1024
    public = key.public_key()
    for load, text in (
        (PublicKey.from_base64, public.to_base64()),
        (PublicKey.from_pem, public.to_pem()),
        (PublicKey.from_der, public.to_der()),
    ):
        with pytest.raises(InvalidKey):
            load(text)  # type: ignore[arg-type]
        assert load(text, allow_legacy_1024=True).bits == 1024  # type: ignore[arg-type]
    with pytest.raises(UnsupportedKeySize):
        KeyPair.generate(1024)
    with pytest.raises(TypeError):
        KeyPair.from_pem(pem, allow_legacy_1024=1)  # type: ignore[arg-type]


def test_default_key_size_is_2048() -> None:
    assert KeyPair.generate().bits == 2048


def test_key_files_match_openssl(key_2048: KeyPair, data_dir: Path) -> None:
    assert key_2048.public_key_base64() == (data_dir / "keys" / "rsa2048_public.b64").read_text().strip()
    assert key_2048.public_key().to_pem() == (data_dir / "keys" / "rsa2048_public.pem").read_text()
    assert key_2048.to_der() == (data_dir / "keys" / "rsa2048_pkcs8.der").read_bytes()
    pkcs1 = KeyPair.from_pem((data_dir / "keys" / "rsa2048_pkcs1.pem").read_text())
    assert pkcs1.public_key() == key_2048.public_key()
    public = PublicKey.from_pem((data_dir / "keys" / "rsa2048_public.pem").read_bytes())
    assert public == PublicKey.from_der(public.to_der()) == key_2048.public_key()
    assert public.bits == 2048 and key_2048.bits == 2048


def test_handles_close_deterministically(key_1024: KeyPair) -> None:
    with Session.new() as session:
        session.encrypt("x")
    with pytest.raises(ValueError, match="closed"):
        session.encrypt("x")
    session.close()  # idempotent
    key = KeyPair.generate(2048)
    key.close()
    with pytest.raises(ValueError, match="closed"):
        key.public_key()
    assert repr(key) == "<KeyPair closed>"


def test_many_handles_are_released_on_garbage_collection(key_1024: KeyPair) -> None:
    # Thousands of sessions and public keys created and dropped: with a leak
    # the C side would grow; this checks nothing crashes on collection.
    for _ in range(2000):
        Session.new().encrypt("x")
        key_1024.public_key()


def test_versions_agree() -> None:
    from pathlib import Path

    import tomllib

    import paramcrypt

    repo = Path(__file__).resolve().parents[2]
    cargo = tomllib.loads((repo / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    pyproject = tomllib.loads((repo / "python" / "pyproject.toml").read_text())["project"]["version"]
    assert library_version() == paramcrypt.__version__ == cargo == pyproject


def test_repr_never_shows_secrets(key_1024: KeyPair) -> None:
    session = Session.new()
    assert repr(session) == "<Session KEY_IV>"
    assert repr(key_1024) == "<KeyPair 1024 bits>"
    assert "PRIVATE" not in repr(key_1024)
