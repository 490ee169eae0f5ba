#!/usr/bin/env python3
"""Opens paramcrypt's encKeys and parameters with Python `cryptography`
(OpenSSL), an independent implementation, and checks the exact wire format.

    cargo run -p paramcrypt-core --example emit_interop -- tests/data/keys/rsa2048_public.pem \\
        | python3 tests/interop/open_paramcrypt_output.py tests/data/keys/rsa2048_pkcs8.pem

Reads the JSON document from standard input. Exits non-zero on any mismatch.
"""
import base64
import binascii
import json
import re
import sys

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PADDINGS = {
    "pkcs1v15": rsa_padding.PKCS1v15(),
    "oaep-sha1": rsa_padding.OAEP(rsa_padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
    "oaep-sha256": rsa_padding.OAEP(rsa_padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
}
KEY_IV_TEXT = re.compile(rb"[0-9a-f]{32}:[0-9a-f]{32}")


def strict_b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(data) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def main() -> int:
    private_key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
    document = json.load(sys.stdin)
    checked = 0
    for case in document["cases"]:
        enc_key = strict_b64(case["encKey"])
        assert len(enc_key) == private_key.key_size // 8, "encKey is one RSA block"
        plaintext = private_key.decrypt(enc_key, PADDINGS[case["padding"]])
        if case["mode"] == "key-iv":
            assert KEY_IV_TEXT.fullmatch(plaintext), f"not lower-case hex(key):hex(iv): {len(plaintext)} bytes"
            key, iv = binascii.unhexlify(plaintext[:32]), binascii.unhexlify(plaintext[33:])
        else:
            assert len(plaintext) == 16, "per-message-IV encKey is the raw key"
            key, iv = plaintext, None
        for param in case["params"]:
            data = strict_b64(param["value"])
            if iv is None:
                opened = cbc_decrypt(key, data[:16], data[16:])
            else:
                opened = cbc_decrypt(key, iv, data)
            assert opened.decode("utf-8") == param["plaintext"], f"{case['padding']}/{case['mode']}"
            checked += 1
    assert checked == 30, f"expected 30 values, checked {checked}"
    print(f"cryptography opened {len(document['cases'])} paramcrypt encKeys and {checked} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
