#!/usr/bin/env python3
"""A device's JSON-RPC API with encrypted parameters, on 127.0.0.1, using only
the standard library and paramcrypt.

    python3 server.py [--port 0] [--key-file server-key.pem]

URL layout of deployed devices: POST /sony/<service>.
  encryption: getPublicKey            -> [{"publicKey": "<base64 DER SPKI>"}]
  demo:       sendSecretData(encKey, secretData1, secretData2) stores the secrets
              getSecretData(encKey)   -> [{"secretData": <secretData1, encrypted
                                          with the caller's common key>}]
Any encryption failure is [40002, "Encryption Failed"]; malformed requests get
the matching JSON-RPC error. The RSA key is created once, stored as PEM with
mode 0600, and reloaded on restart. Secrets are never logged.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from paramcrypt import EncryptionFailed, KeyPair, Padding, Session  # noqa: E402

# Error codes of the device API.
ILLEGAL_ARGUMENT = (3, "Illegal Argument")
ILLEGAL_REQUEST = (5, "Illegal Request")
NO_SUCH_METHOD = (12, "No Such Method")
ENCRYPTION_FAILED = (40002, "Encryption Failed")
MAX_BODY = 64 * 1024


class RpcError(Exception):
    def __init__(self, error: tuple[int, str]) -> None:
        super().__init__(error[1])
        self.error = error


def load_or_create_key(path: Path) -> tuple[KeyPair, bool]:
    """The stored key, or a new 2048-bit key written with mode 0600."""
    if path.exists():
        return KeyPair.from_pem(path.read_bytes()), False
    key = KeyPair.generate(2048)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.to_pem())
    return key, True


class Device:
    """The services; thread-safe (one KeyPair shared by all request threads)."""

    def __init__(self, key: KeyPair, padding: Padding = Padding.PKCS1V15) -> None:
        self.key = key
        self.padding = padding
        self.public_key_b64 = key.public_key_base64()
        self._lock = threading.Lock()
        self._secrets: dict[str, bytes] = {}

    def call(self, service: str, method: str, params: list[Any]) -> list[Any]:
        handler = {
            ("encryption", "getPublicKey"): self.get_public_key,
            ("demo", "sendSecretData"): self.send_secret_data,
            ("demo", "getSecretData"): self.get_secret_data,
        }.get((service, method))
        if handler is None:
            raise RpcError(NO_SUCH_METHOD)
        if not isinstance(params, list) or len(params) > 1 or (params and not isinstance(params[0], dict)):
            raise RpcError(ILLEGAL_ARGUMENT)
        return handler(params[0] if params else {})

    def get_public_key(self, params: dict[str, Any]) -> list[Any]:
        return [{"publicKey": self.public_key_b64}]

    def _session(self, params: dict[str, Any]) -> Session:
        enc_key = params.get("encKey")
        if not isinstance(enc_key, str):
            raise RpcError(ILLEGAL_ARGUMENT)
        return self.key.unwrap(enc_key, self.padding)

    def send_secret_data(self, params: dict[str, Any]) -> list[Any]:
        names = [name for name in ("secretData1", "secretData2") if name in params]
        if not names or not all(isinstance(params[n], str) for n in names):
            raise RpcError(ILLEGAL_ARGUMENT)
        with self._session(params) as session:
            secrets: dict[str, bytes] = {name: session.decrypt(params[name]) for name in names}
        with self._lock:
            self._secrets = secrets
        return []

    def get_secret_data(self, params: dict[str, Any]) -> list[Any]:
        with self._lock:
            secret = self._secrets.get("secretData1", b"")
        with self._session(params) as session:
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
                result = device.call(service, request["method"], request.get("params", []))
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


def serve(port: int, key_file: Path, ready: threading.Event | None = None) -> None:
    key, created = load_or_create_key(key_file)
    print(f"server: {'generated a new' if created else 'loaded the'} {key.bits}-bit key "
          f"{'into' if created else 'from'} {key_file}", flush=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", port), make_handler(Device(key)))
    print(f"server: listening on http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--key-file", type=Path, default=Path("server-key.pem"), help="PEM key file")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.port, args.key_file)


if __name__ == "__main__":
    main()
