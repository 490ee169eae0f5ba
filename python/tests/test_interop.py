"""Interop with Python `cryptography` (OpenSSL), generated live: its
encKeys and AES-CBC values opened by paramcrypt, and paramcrypt's opened by it."""

from __future__ import annotations

import base64
import os
import re

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from paramcrypt import KeyPair, Mode, Padding, PublicKey, Session

RSA_PADDINGS = {
    Padding.PKCS1V15: rsa_padding.PKCS1v15(),
    Padding.OAEP_SHA1: rsa_padding.OAEP(rsa_padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
    Padding.OAEP_SHA256: rsa_padding.OAEP(rsa_padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
}
TEXTS = ["", "secret", "exactly 16 bytes", "パスワード 🔑", "y" * 777]


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = sym_padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padder.update(data) + padder.finalize()) + enc.finalize()


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = sym_padding.PKCS7(128).unpadder()
    return unpadder.update(dec.update(data) + dec.finalize()) + unpadder.finalize()


@pytest.fixture(scope="module")
def their_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def our_copy(their_key: rsa.RSAPrivateKey) -> KeyPair:
    pem = their_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    return KeyPair.from_pem(pem)


@pytest.mark.parametrize("padding", list(Padding))
@pytest.mark.parametrize("form", ["lower", "upper", "raw"])
def test_their_enc_key_and_values_open_with_paramcrypt(
    their_key: rsa.RSAPrivateKey, our_copy: KeyPair, padding: Padding, form: str
) -> None:
    key, iv = os.urandom(16), os.urandom(16)
    plaintext = {
        "lower": f"{key.hex()}:{iv.hex()}".encode(),
        "upper": f"{key.hex().upper()}:{iv.hex().upper()}".encode(),
        "raw": key,
    }[form]
    enc_key = base64.b64encode(their_key.public_key().encrypt(plaintext, RSA_PADDINGS[padding])).decode()
    session = our_copy.unwrap(enc_key, padding)
    assert session.mode == (Mode.PER_MESSAGE_IV if form == "raw" else Mode.KEY_IV)
    for text in TEXTS:
        data = text.encode()
        if form == "raw":
            msg_iv = os.urandom(16)
            value = base64.b64encode(msg_iv + cbc_encrypt(key, msg_iv, data)).decode()
        else:
            value = base64.b64encode(cbc_encrypt(key, iv, data)).decode()
            assert session.encrypt(data) == value, "byte-for-byte the same wire value"
        assert session.decrypt(value) == data


@pytest.mark.parametrize("padding", list(Padding))
@pytest.mark.parametrize("mode", list(Mode))
def test_paramcrypt_enc_key_and_values_open_with_cryptography(
    their_key: rsa.RSAPrivateKey, padding: Padding, mode: Mode
) -> None:
    public_pem = their_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    our_public = PublicKey.from_pem(public_pem)
    assert our_public.to_der() == their_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    session = Session.new(mode)
    plaintext = their_key.decrypt(base64.b64decode(session.wrap(our_public, padding), validate=True),
                                  RSA_PADDINGS[padding])
    if mode == Mode.KEY_IV:
        assert re.fullmatch(rb"[0-9a-f]{32}:[0-9a-f]{32}", plaintext)
        key, iv = bytes.fromhex(plaintext[:32].decode()), bytes.fromhex(plaintext[33:].decode())
    else:
        assert len(plaintext) == 16
        key, iv = plaintext, None
    for text in TEXTS:
        data = base64.b64decode(session.encrypt(text), validate=True)
        opened = cbc_decrypt(key, data[:16], data[16:]) if iv is None else cbc_decrypt(key, iv, data)
        assert opened.decode() == text


def test_public_key_base64_matches_cryptography(our_copy: KeyPair, their_key: rsa.RSAPrivateKey) -> None:
    der = their_key.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    assert our_copy.public_key_base64() == base64.b64encode(der).decode()
