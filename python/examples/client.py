#!/usr/bin/env python3
"""A client of the device API in server.py, on paramcrypt.Client: sets the
device's text form with a secret (appControl setTextForm), reads it back in
a second call (getTextForm), each call under a fresh common key, and checks
the two match.

    python3 client.py --url http://127.0.0.1:8080 --psk-file server-psk.txt \\
        [--known-devices known_devices.txt] [--repin]

The device's public key is pinned on first use in the known-devices file;
a device that later presents another key gets nothing secret (PinMismatch)
until --repin. paramcrypt.Client handles 40002: it starts over once with a
new common key, and stops after three failures in ten minutes (a possible
attack) instead of re-sending the secret again and again. Secret values are
never printed.
"""
from __future__ import annotations

import argparse
import importlib.util
import secrets
import sys
from pathlib import Path

if importlib.util.find_spec("paramcrypt") is None:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paramcrypt import Client, ParamcryptError, PinMismatch  # noqa: E402


def store_and_read_back(client: Client, text: str) -> bool:
    """setTextForm with `text` as a secret, then getTextForm decrypted: the
    text form the device holds, compared with `text`."""
    client.call("appControl", "setTextForm", secrets={"text": text}, version="1.1")
    result = client.call("appControl", "getTextForm", decrypt=["text"], version="1.1")
    return bool(result and result[0].get("text") == text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--psk-file", type=Path, default=Path("server-psk.txt"),
                        help="file holding the device's pre-shared key (X-Auth-PSK)")
    parser.add_argument("--known-devices", type=Path, default=Path("known_devices.txt"),
                        help="file of pinned device keys (made if missing)")
    parser.add_argument("--repin", action="store_true", help="accept a new public key of the device")
    args = parser.parse_args()
    client = Client.http(args.url, args.psk_file.read_text().strip(), known_devices=args.known_devices)
    if args.repin:
        client.repin()
    text = f"a secret text form {secrets.token_hex(4)}"
    try:
        ok = store_and_read_back(client, text)
    except PinMismatch as err:
        print(f"client: {err}", file=sys.stderr)
        return 2
    except ParamcryptError as err:
        print(f"client: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(f"client: setTextForm then getTextForm under fresh common keys: {'match' if ok else 'MISMATCH'} "
          f"(device key {client.fingerprint})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
