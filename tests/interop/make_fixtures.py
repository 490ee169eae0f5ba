#!/usr/bin/env python3
"""Writes tests/data/interop/from_cryptography.json: encKeys and secret
parameters made by Python `cryptography` (OpenSSL), an implementation
independent of paramcrypt. core/tests/interop.rs opens them with paramcrypt.

Run from the repository root:  python3 tests/interop/make_fixtures.py
The output is committed; rerunning it makes new random values.
"""
import base64
import json
import os
import pathlib

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEY_FILE = ROOT / "tests/data/keys/rsa2048_pkcs8.pem"
OUT_FILE = ROOT / "tests/data/interop/from_cryptography.json"
# The same values one parameter per line, tab-separated, for the C tests:
# padding, mode, key hex, iv hex ("-" for none), encKey, plaintext hex, value.
TSV_FILE = ROOT / "tests/data/interop/from_cryptography.tsv"

PADDINGS = {
    "pkcs1v15": rsa_padding.PKCS1v15(),
    "oaep-sha1": rsa_padding.OAEP(rsa_padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
    "oaep-sha256": rsa_padding.OAEP(rsa_padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
}

PLAINTEXTS = [
    "",
    "secret",
    "exactly 16 bytes",
    "Zürich — パスワード — 🔑",
    "x" * 1000,
]


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def main() -> None:
    private_key = serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)
    public_key = private_key.public_key()
    cases = []
    for padding_name, rsa_pad in PADDINGS.items():
        for mode in ("key-iv", "key-iv-upper", "per-message-iv"):
            key, iv = os.urandom(16), os.urandom(16)
            if mode == "key-iv":
                enc_key_plaintext = f"{key.hex()}:{iv.hex()}".encode()
            elif mode == "key-iv-upper":
                enc_key_plaintext = f"{key.hex().upper()}:{iv.hex().upper()}".encode()
            else:
                enc_key_plaintext = key
            params = []
            for text in PLAINTEXTS:
                data = text.encode("utf-8")
                if mode == "per-message-iv":
                    msg_iv = os.urandom(16)
                    value = b64(msg_iv + cbc_encrypt(key, msg_iv, data))
                else:
                    value = b64(cbc_encrypt(key, iv, data))
                params.append({"plaintext": text, "value": value})
            cases.append({
                "padding": padding_name,
                "mode": mode,
                "key": key.hex(),
                "iv": iv.hex() if mode != "per-message-iv" else None,
                "encKey": b64(public_key.encrypt(enc_key_plaintext, rsa_pad)),
                "params": params,
            })
    document = {
        "generator": "tests/interop/make_fixtures.py (Python cryptography)",
        "privateKeyFile": str(KEY_FILE.relative_to(ROOT)),
        "cases": cases,
    }
    OUT_FILE.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    rows = []
    for case in cases:
        for param in case["params"]:
            rows.append("\t".join([
                case["padding"], case["mode"], case["key"], case["iv"] or "-", case["encKey"],
                param["plaintext"].encode("utf-8").hex() or "-", param["value"],
            ]))
    # A session whose RNG yields the bytes 0, 1, 2, ...: key 00..0f, IV 10..1f.
    # The C tests make it through the RNG callback and must produce this value.
    counter_key, counter_iv = bytes(range(16)), bytes(range(16, 32))
    rows.append("\t".join([
        "-", "counter-rng", counter_key.hex(), counter_iv.hex(), "-", b"hello".hex(),
        b64(cbc_encrypt(counter_key, counter_iv, b"hello")),
    ]))
    TSV_FILE.write_text("\n".join(rows) + "\n")
    print(f"wrote {len(cases)} cases to {OUT_FILE.relative_to(ROOT)} and {len(rows)} rows to {TSV_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
