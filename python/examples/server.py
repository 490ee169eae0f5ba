#!/usr/bin/env python3
"""A device's JSON-RPC API with encrypted parameters, on 127.0.0.1, using only
the standard library and paramcrypt.

    python3 server.py [--port 0] [--key-file server-key.pem] [--psk-file server-psk.txt]

URL layout of deployed devices: POST /sony/<service>.
  encryption: getPublicKey            -> [{"publicKey": "<base64 DER SPKI>"}]
  demo:       sendSecretData(encKey, secretData1, secretData2) stores the
              caller's secrets
              getSecretData(encKey)   -> [{"secretData": <the caller's
                                          secretData1, encrypted with its
                                          common key>}]
The demo methods require the pre-shared key in the X-Auth-PSK header, as
deployed devices do: an encKey does not authenticate its sender (anyone can
make one from the public key). Stored secrets belong to the client that
stored them: the common key it stored them with (paramcrypt's key_id).

Encrypted parameters go through a paramcrypt.Server: a client reusing its
encKey costs no RSA work, and after a decryption fails the server refuses
that common key, so that a replayed encKey is no padding oracle. Any
encryption failure is [40002, "Encryption Failed"]; malformed requests get
the matching JSON-RPC error. The RSA key is created once, stored as PEM with
mode 0600, and reloaded on restart; so is the PSK (a random one is made
when the file does not exist). Secrets and the PSK are never logged.
"""
from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import os
import secrets
import sys
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from paramcrypt import EncryptionFailed, KeyPair, Padding, Server, ServerSession  # noqa: E402

# Error codes of the device API.
ILLEGAL_ARGUMENT = (3, "Illegal Argument")
ILLEGAL_REQUEST = (5, "Illegal Request")
NO_SUCH_METHOD = (12, "No Such Method")
UNAUTHORIZED = (401, "Unauthorized")
ENCRYPTION_FAILED = (40002, "Encryption Failed")
MAX_BODY = 64 * 1024
# Clients whose stored secrets are kept (the oldest go first).
MAX_STORED_CLIENTS = 1024
PSK_HEADER = "X-Auth-PSK"


class RpcError(Exception):
    def __init__(self, error: tuple[int, str]) -> None:
        super().__init__(error[1])
        self.error = error


def write_secret_file(path: Path, text: str) -> None:
    """Creates `path` with mode 0600 and writes `text` to it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def load_or_create_key(path: Path) -> tuple[KeyPair, bool]:
    """The stored key, or a new 2048-bit key written with mode 0600."""
    if path.exists():
        return KeyPair.from_pem(path.read_bytes()), False
    key = KeyPair.generate(2048)
    write_secret_file(path, key.to_pem())
    return key, True


def load_or_create_psk(path: Path) -> bytes:
    """The pre-shared key stored in `path` (one line), or a new random one
    written there with mode 0600."""
    if not path.exists():
        write_secret_file(path, secrets.token_hex(16) + "\n")
    return path.read_bytes().strip()


class Device:
    """The services; thread-safe (one paramcrypt.Server shared by all request
    threads)."""

    def __init__(self, key: KeyPair, psk: bytes, padding: Padding = Padding.PKCS1V15) -> None:
        self.server = Server(key, padding)
        self.public_key_b64 = self.server.public_key_base64()
        self._psk = psk
        self._lock = threading.Lock()
        # key_id of the storing client's common key -> its secretData1.
        self._secrets: OrderedDict[int, bytes] = OrderedDict()

    def call(self, service: str, method: str, params: list[Any], psk: str | None) -> list[Any]:
        handlers = {
            ("encryption", "getPublicKey"): (self.get_public_key, False),
            ("demo", "sendSecretData"): (self.send_secret_data, True),
            ("demo", "getSecretData"): (self.get_secret_data, True),
        }
        if (service, method) not in handlers:
            raise RpcError(NO_SUCH_METHOD)
        handler, needs_psk = handlers[(service, method)]
        if needs_psk and not self._authorized(psk):
            raise RpcError(UNAUTHORIZED)
        if not isinstance(params, list) or len(params) > 1 or (params and not isinstance(params[0], dict)):
            raise RpcError(ILLEGAL_ARGUMENT)
        return handler(params[0] if params else {})

    def _authorized(self, psk: str | None) -> bool:
        # Constant time: the comparison must not tell how much of a guess is right.
        return psk is not None and hmac.compare_digest(psk.encode("utf-8", "replace"), self._psk)

    def get_public_key(self, params: dict[str, Any]) -> list[Any]:
        return [{"publicKey": self.public_key_b64}]

    def _session(self, params: dict[str, Any]) -> ServerSession:
        enc_key = params.get("encKey")
        if not isinstance(enc_key, str):
            raise RpcError(ILLEGAL_ARGUMENT)
        return self.server.open(enc_key)

    def send_secret_data(self, params: dict[str, Any]) -> list[Any]:
        names = [name for name in ("secretData1", "secretData2") if name in params]
        if not names or not all(isinstance(params[n], str) for n in names):
            raise RpcError(ILLEGAL_ARGUMENT)
        with self._session(params) as session:
            stored: dict[str, bytes] = {name: session.decrypt(params[name]) for name in names}
            owner = session.key_id
        with self._lock:
            self._secrets[owner] = stored.get("secretData1", b"")
            self._secrets.move_to_end(owner)
            while len(self._secrets) > MAX_STORED_CLIENTS:
                self._secrets.popitem(last=False)
        return []

    def get_secret_data(self, params: dict[str, Any]) -> list[Any]:
        with self._session(params) as session:
            with self._lock:
                secret = self._secrets.get(session.key_id, b"")
            return [{"secretData": session.encrypt(secret)}]


def make_handler(device: Device) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            request_id: Any = None
            try:
                if not self.path.startswith("/sony/"):
                    return self._send(404, {"error": list(NO_SUCH_METHOD), "id": None})
                service = self.path[len("/sony/"):]
                length = int(self.headers.get("Content-Length", "0"))
                if length <= 0 or length > MAX_BODY:
                    raise RpcError(ILLEGAL_REQUEST)
                try:
                    request = json.loads(self.rfile.read(length))
                except (ValueError, UnicodeDecodeError):
                    raise RpcError(ILLEGAL_REQUEST) from None
                if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                    raise RpcError(ILLEGAL_REQUEST)
                request_id = request.get("id")
                psk = self.headers.get(PSK_HEADER)
                result = device.call(service, request["method"], request.get("params", []), psk)
                self._send(200, {"result": result, "id": request_id})
            except EncryptionFailed:
                self._send(200, {"error": list(ENCRYPTION_FAILED), "id": request_id})
            except RpcError as err:
                self._send(200, {"error": list(err.error), "id": request_id})

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            # Method and status only; never bodies (they carry encKeys and secrets).
            sys.stderr.write(f"server: {self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")

    return Handler


def serve(port: int, key_file: Path, psk_file: Path) -> None:
    key, created = load_or_create_key(key_file)
    print(f"server: {'generated a new' if created else 'loaded the'} {key.bits}-bit key "
          f"{'into' if created else 'from'} {key_file}", flush=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", port), make_handler(Device(key, load_or_create_psk(psk_file))))
    print(f"server: listening on http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--key-file", type=Path, default=Path("server-key.pem"), help="PEM key file")
    parser.add_argument("--psk-file", type=Path, default=Path("server-psk.txt"),
                        help="file holding the pre-shared key for X-Auth-PSK (made if missing)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.port, args.key_file, args.psk_file)


if __name__ == "__main__":
    main()
