#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target (fuzz/seeds/<target>/) from
the project's test vectors: the interop encKeys and parameters, Wycheproof
AES-CBC, and the test keys. Each seed starts with the selector bytes its
target reads (see the target's doc comment)."""
import base64
import hashlib
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
OUT = Path(__file__).resolve().parent / "seeds"
PADDINGS = {"pkcs1v15": 0, "oaep-sha1": 1, "oaep-sha256": 2}
MODES = {"key-iv": 0, "key-iv-upper": 0, "per-message-iv": 1}


def write(target: str, seed: bytes) -> None:
    directory = OUT / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(seed).hexdigest()).write_bytes(seed)


def wrapped(text: str, width: int = 64) -> str:
    return "\r\n".join(text[i:i + width] for i in range(0, len(text), width))


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    interop = json.loads((DATA / "interop" / "from_cryptography.json").read_text())["cases"]
    ours = json.loads((DATA / "interop" / "from_paramcrypt.json").read_text())["cases"]
    for case in interop + ours:
        padding = PADDINGS[case["padding"]]
        enc_key = case["encKey"].encode()
        write("enc_key_open", bytes([padding]) + enc_key)
        write("enc_key_open", bytes([padding]) + wrapped(case["encKey"], 76).encode())
        write("wire_base64", enc_key)
        write("c_api", bytes([6, 0, padding]) + enc_key)
        for param in case["params"]:
            value = param["value"].encode()
            write("wire_base64", value)
            write("c_api", bytes([case["mode"] == "per-message-iv", 64, 0]) + value)
            write("c_api", bytes([5, 64, 0]) + param["plaintext"].encode())
            if padding == 0:  # the c_api target's server is PKCS#1 v1.5
                write("c_api", bytes([2, 64, 0]) + enc_key + b"." + value)
            if "key" in case:
                iv = bytes.fromhex(case["iv"]) if case["iv"] else bytes(16)  # unused per-message
                head = bytes([MODES[case["mode"]]]) + bytes.fromhex(case["key"]) + iv
                for text in (value, wrapped(param["value"]).encode()):
                    write("param_decrypt", head + text)
                    write("param_decrypt_differential", head + text)
    write("enc_key_open", b"\x00" + (DATA / "bad_input" / "enc_key_for_wycheproof_key.txt").read_bytes().strip())

    for group in json.loads((DATA / "wycheproof" / "aes_cbc_pkcs5_test.json").read_text())["testGroups"]:
        if group["keySize"] != 128:
            continue
        for test in group["tests"]:
            head = bytes.fromhex(test["key"]) + bytes.fromhex(test["iv"])
            text = base64.b64encode(bytes.fromhex(test["ct"]))
            write("param_decrypt", b"\x00" + head + text)
            write("param_decrypt_differential", b"\x00" + head + text)
            # Per-message IV: the IV leads the body.
            body = base64.b64encode(bytes.fromhex(test["iv"] + test["ct"]))
            write("param_decrypt_differential", b"\x01" + head + body)

    keys = DATA / "keys"
    write("private_key_import", b"\x00" + (keys / "rsa2048_pkcs8.der").read_bytes())
    write("compact_key_import", b"\x00" + (keys / "rsa2048_pkcs8.der").read_bytes())
    for pem in sorted(keys.glob("*.pem")):
        text = pem.read_bytes()
        if b"PRIVATE KEY" in text:
            write("private_key_import", b"\x01" + text)
            write("private_key_import", b"\x03" + text)
            write("compact_key_import", b"\x02" + text)
            write("c_api", bytes([3, 0, 1]) + text)
        else:
            write("public_key_import", b"\x02" + text)
            write("public_key_import", b"\x06" + text)
            write("c_api", bytes([4, 200, 1]) + text)
    public_b64 = (keys / "rsa2048_public.b64").read_bytes().strip()
    write("public_key_import", b"\x01" + public_b64)
    write("public_key_import", b"\x00" + base64.b64decode(public_b64))
    write("compact_key_import", b"\x01" + base64.b64decode(public_b64))
    write("c_api", bytes([4, 200, 0]) + public_b64)
    write("c_api", bytes([3, 0, 0]) + (keys / "rsa2048_pkcs8.der").read_bytes())
    write("c_api", bytes([7, 30, 0]))
    write("wire_base64", public_b64)
    print(f"seeds: {sum(1 for _ in OUT.rglob('*') if _.is_file())} files in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
