#!/usr/bin/env python3
"""A client of the device API in server.py: fetches the public key, sends two
secrets with sendSecretData, reads one back with getSecretData, and starts
over (new public key, new common key) whenever the device answers 40002.

    python3 client.py --url http://127.0.0.1:8080 --psk-file server-psk.txt

Secret values are never printed; the client reports whether they match.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from paramcrypt import (  # noqa: E402
    ENCRYPTION_FAILED_CODE,
    EncryptionFailed,
    Mode,
    Padding,
    PublicKey,
    Session,
)


class DeviceError(Exception):
    """A JSON-RPC error other than 40002."""


class Client:
    """Keeps one common key for many calls; renews it after 40002."""

    def __init__(self, url: str, psk: str, mode: Mode = Mode.KEY_IV, padding: Padding = Padding.PKCS1V15) -> None:
        self.url = url.rstrip("/")
        self.psk = psk
        self.mode = mode
        self.padding = padding
        self.session: Session | None = None
        self.enc_key: str | None = None
        self.initializations = 0
        self.encryption_failures = 0
        self._id = 0

    def rpc(self, service: str, method: str, params: list[Any]) -> dict[str, Any]:
        self._id += 1
        body = json.dumps({"method": method, "params": params, "id": self._id, "version": "1.0"}).encode()
        headers = {"Content-Type": "application/json", "X-Auth-PSK": self.psk}
        request = urllib.request.Request(f"{self.url}/sony/{service}", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            reply: dict[str, Any] = json.loads(response.read())
            return reply

    def initialize(self) -> Session:
        """Fetches the device's public key and makes a fresh common key."""
        reply = self.rpc("encryption", "getPublicKey", [])
        public_key = PublicKey.from_base64(reply["result"][0]["publicKey"])
        self.forget_session()
        self.session = Session.new(self.mode)
        self.enc_key = self.session.wrap(public_key, self.padding)
        self.initializations += 1
        return self.session

    def forget_session(self) -> None:
        """Drops the common key (wiping it); the next call starts over."""
        if self.session is not None:
            self.session.close()
        self.session = None

    def _call_with_secrets(
        self, method: str, make_params: Callable[[Session], dict[str, Any]]
    ) -> tuple[dict[str, Any], Session]:
        """Calls `method`; on 40002 starts over once and retries. Returns the
        reply and the session it was made with."""
        for attempt in range(2):
            session = self.session or self.initialize()
            reply = self.rpc("demo", method, [make_params(session)])
            error = reply.get("error")
            if error is None:
                return reply, session
            if error[0] == ENCRYPTION_FAILED_CODE and attempt == 0:
                self.encryption_failures += 1
                self.forget_session()
                continue
            raise DeviceError(f"{method}: {error}")
        raise AssertionError("unreachable")

    def send_secrets(self, secret1: str, secret2: str) -> None:
        self._call_with_secrets("sendSecretData", lambda session: {
            "secretData1": session.encrypt(secret1),
            "secretData2": session.encrypt(secret2),
            "encKey": self.enc_key,
        })

    def get_secret(self) -> bytes:
        for _attempt in range(2):
            reply, session = self._call_with_secrets("getSecretData", lambda session: {"encKey": self.enc_key})
            try:
                return session.decrypt(reply["result"][0]["secretData"])
            except EncryptionFailed:
                # A stale encKey can, rarely, unwrap to a key we do not hold
                # (implicit rejection): treat it like 40002 and start over.
                self.forget_session()
        raise DeviceError("getSecretData: reply could not be decrypted")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--psk-file", type=Path, default=Path("server-psk.txt"),
                        help="file holding the device's pre-shared key (X-Auth-PSK)")
    args = parser.parse_args()
    client = Client(args.url, args.psk_file.read_text().strip())
    client.send_secrets("correct horse battery staple", "1234")
    ok = client.get_secret() == b"correct horse battery staple"
    print(f"client: sendSecretData then getSecretData: {'match' if ok else 'MISMATCH'} "
          f"({client.initializations} initialization(s), {client.encryption_failures} x 40002)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
