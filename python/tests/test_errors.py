"""Every error path raises the right exception."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Callable

import pytest

from paramcrypt import (
    EncryptionFailed,
    InvalidKey,
    KeyPair,
    KeyTooSmall,
    Mode,
    Padding,
    ParamcryptError,
    PublicKey,
    Session,
    Status,
    UnsupportedKeySize,
)


def test_encryption_failed_carries_code_40002() -> None:
    err = EncryptionFailed()
    assert err.code == 40002
    assert err.code == Status.ENCRYPTION_FAILED
    assert str(err) == "Encryption Failed"
    assert isinstance(err, ParamcryptError)


@pytest.mark.parametrize(
    "enc_key",
    ["", " ", "!!!!", "AAAA", "hCkxUu4W", base64.b64encode(b"\0" * 256).decode(), "é" * 10, b"\xff\xfe", "A" * 100000],
)
def test_garbage_enc_keys_fail_uniformly(key_2048: KeyPair, enc_key: str | bytes) -> None:
    with pytest.raises(EncryptionFailed) as info:
        key_2048.unwrap(enc_key)
    assert info.value.code == 40002 and str(info.value) == "Encryption Failed"


def test_enc_key_for_another_key_or_padding_fails(key_2048: KeyPair, key_1024: KeyPair) -> None:
    session = Session.new()
    with pytest.raises(EncryptionFailed):
        key_2048.unwrap(session.wrap(key_1024.public_key()))
    with pytest.raises(EncryptionFailed):
        key_2048.unwrap(session.wrap(key_2048.public_key(), Padding.PKCS1V15), Padding.OAEP_SHA256)


def test_truncated_and_garbage_values_fail_uniformly(key_2048: KeyPair) -> None:
    client = Session.new()
    server = key_2048.unwrap(client.wrap(key_2048.public_key()))
    value = client.encrypt("twenty bytes of text")
    cases = ["", "%%%%", value[:-4], value[:-1], value + "AAAA", value[:10] + " " + value[10:],
             base64.b64encode(b"\0" * 15).decode(), base64.b64encode(b"\0" * 17).decode()]
    for bad in cases:
        with pytest.raises(EncryptionFailed):
            server.decrypt(bad)


def test_wrong_key_fails(key_2048: KeyPair, data_dir: Path) -> None:
    # Two fixed sessions (encKeys made by Python cryptography), so the outcome
    # is the same on every run: with random keys, a wrong key yields a valid
    # PKCS#7 padding about once in 256 tries.
    rows = [line.split("\t") for line in (data_dir / "interop" / "from_cryptography.tsv").read_text().splitlines()]
    enc_keys = sorted({row[4] for row in rows if row[0] == "pkcs1v15" and row[1].startswith("key-iv")})
    first, other = (key_2048.unwrap(enc_key) for enc_key in enc_keys[:2])
    value = first.encrypt("twenty bytes of text and more")
    assert first.decrypt(value) == b"twenty bytes of text and more"
    with pytest.raises(EncryptionFailed):
        other.decrypt(value)


@pytest.mark.parametrize(
    "call",
    [
        lambda k, s: k.unwrap(123),
        lambda k, s: k.unwrap(None),
        lambda k, s: s.encrypt(5),
        lambda k, s: s.encrypt(None),
        lambda k, s: s.decrypt(["AAAA"]),
        lambda k, s: s.wrap("not a key"),
        lambda k, s: s.wrap(k),
        lambda k, s: s.wrap(k.public_key(), "PKCS1V15"),
        lambda k, s: k.unwrap("AAAA", 1.5),
        lambda k, s: Session.new("KEY_IV"),  # type: ignore[arg-type]
        lambda k, s: KeyPair.generate("2048"),  # type: ignore[arg-type]
        lambda k, s: KeyPair.from_pem(None),  # type: ignore[arg-type]
        lambda k, s: KeyPair.from_der("text is not DER"),  # type: ignore[arg-type]
        lambda k, s: PublicKey.from_der("text"),  # type: ignore[arg-type]
        lambda k, s: PublicKey.from_base64(7),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_raise_type_error(key_1024: KeyPair, call: Callable[[KeyPair, Session], object]) -> None:
    with pytest.raises(TypeError):
        call(key_1024, Session.new())


def test_unknown_enum_values_raise_value_error(key_1024: KeyPair) -> None:
    with pytest.raises(ValueError):
        Session.new(7)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Session.new().wrap(key_1024.public_key(), 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        key_1024.unwrap("AAAA", 99)  # type: ignore[arg-type]


@pytest.mark.parametrize("bits", [0, 512, 1023, 1024, 2047, 8192])
def test_unsupported_key_sizes(bits: int) -> None:
    with pytest.raises(UnsupportedKeySize) as info:
        KeyPair.generate(bits)
    assert info.value.code == Status.UNSUPPORTED_KEY_SIZE
    assert isinstance(info.value, ValueError)


def test_invalid_keys(data_dir: Path) -> None:
    bad: list[Callable[[], object]] = [
        lambda: KeyPair.from_pem(""),
        lambda: KeyPair.from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        lambda: KeyPair.from_pem((data_dir / "keys" / "bad_ec_p256_pkcs8.pem").read_text()),
        lambda: KeyPair.from_pem((data_dir / "keys" / "bad_rsa512_pkcs8.pem").read_text()),
        lambda: KeyPair.from_pem(b"\xff\xfe"),
        lambda: KeyPair.from_der(b"\x30\x03\x02\x01\x00"),
        lambda: PublicKey.from_base64("AAAA"),
        lambda: PublicKey.from_base64(""),
        lambda: PublicKey.from_pem((data_dir / "keys" / "bad_ec_p256_public.pem").read_text()),
        lambda: PublicKey.from_der(b""),
    ]
    for call in bad:
        with pytest.raises(InvalidKey) as info:
            call()
        assert info.value.code == Status.INVALID_KEY


def test_oaep_sha256_key_iv_does_not_fit_1024_bits(key_1024: KeyPair) -> None:
    with pytest.raises(KeyTooSmall):
        Session.new(Mode.KEY_IV).wrap(key_1024.public_key(), Padding.OAEP_SHA256)
    # The raw 16-byte key of per-message-IV mode fits.
    session = Session.new(Mode.PER_MESSAGE_IV)
    assert key_1024.unwrap(session.wrap(key_1024.public_key(), Padding.OAEP_SHA256), Padding.OAEP_SHA256)
