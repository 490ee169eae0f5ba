#!/usr/bin/env python3
"""A device's JSON-RPC API with encrypted parameters, on 127.0.0.1, using only
the standard library and paramcrypt.

    python3 server.py [--port 0] [--key-file server-key.pem] [--psk-file server-psk.txt]
                      [--host 127.0.0.1]

URL layout of deployed devices: POST /sony/<service>.
  encryption: getPublicKey            -> [{"publicKey": "<base64 DER SPKI>"}]
  demo:       sendSecretData(encKey, secretData1, secretData2) stores the
              caller's secrets
              getSecretData(encKey)   -> [{"secretData": <the caller's
                                          secretData1, encrypted with its
                                          common key>}]
  appControl: setTextForm(encKey, text) (version 1.1) sets the device's text
              form, as displays do
              getTextForm(encKey) (1.1) -> [{"text": <the text form,
                                          encrypted with the caller's
                                          common key>}]
The demo and appControl methods require the pre-shared key in the
X-Auth-PSK header, as deployed devices do: an encKey does not authenticate
its sender (anyone can make one from the public key). Stored secrets belong
to the client that stored them: the common key it stored them with
(paramcrypt's key_id). The text form belongs to the device: any caller with
the PSK reads it, under its own common key.

Encrypted parameters go through a paramcrypt.Server, with the client's IP
address as its peer: a client reusing its encKey costs no RSA work, and a
decryption failure refuses that common key for a while and counts against
the client's address (locked down after 10 failures in a day) and the whole
server, so that replayed encKeys are no padding oracle. Lockdowns are logged
as possible attacks. Any encryption failure is [40002, "Encryption Failed"];
malformed requests get the matching JSON-RPC error. The RSA key is created
once, stored as PEM with mode 0600, and reloaded on restart; so is the PSK
(a random one is made when the file does not exist), and so is the failure
state, kept next to the key file (KEY_FILE.state, mode 0600, saved after
every failure and at shutdown), so that a restart ends no refusal or
lockdown early. Secrets and the PSK are never logged.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import hmac
import importlib.util
import json
import logging
import os
import secrets
import signal
import sys
import threading
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if importlib.util.find_spec("paramcrypt") is None:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paramcrypt import EncryptionFailed, InvalidState, KeyPair, Padding, Server, ServerSession  # noqa: E402

# Error codes of the device API.
ILLEGAL_ARGUMENT = (3, "Illegal Argument")
ILLEGAL_REQUEST = (5, "Illegal Request")
NO_SUCH_METHOD = (12, "No Such Method")
UNAUTHORIZED = (401, "Unauthorized")
ENCRYPTION_FAILED = (40002, "Encryption Failed")
INTERNAL_ERROR = (1, "Any")
BUSY = (7, "Illegal State")  # the device API's "not now"
MAX_BODY = 64 * 1024
# A client may pause this long between reads (headers or body); then the
# connection is closed, so that a client that never finishes holds nothing.
READ_TIMEOUT = 10.0
# Connections served at once (one thread each), and from one address: more
# are closed at once, so that one slow or hostile address cannot take every
# thread from the others.
MAX_CONNECTIONS = 64
MAX_CONNECTIONS_PER_PEER = 8
# Clients whose stored secrets are kept (the oldest go first).
MAX_STORED_CLIENTS = 1024
PSK_HEADER = "X-Auth-PSK"
_BUSY_BODY = json.dumps({"error": list(BUSY), "id": None}).encode()
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(_BUSY_BODY)}\r\nConnection: close\r\n\r\n".encode()
    + _BUSY_BODY
)


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


def write_secret_file_atomically(path: Path, data: bytes) -> None:
    """Replaces `path` with `data` (mode 0600) through a temporary file in
    the same directory, so that a crash leaves the old or the new copy."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_state(path: Path) -> bytes | None:
    """The failure state saved by an earlier run, if any."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def load_or_create_psk(path: Path) -> bytes:
    """The pre-shared key stored in `path` (one line), or a new random one
    written there with mode 0600."""
    if not path.exists():
        write_secret_file(path, secrets.token_hex(16) + "\n")
    return path.read_bytes().strip()


class Device:
    """The services; thread-safe (one paramcrypt.Server shared by all request
    threads). With `state_file`, the server's failure state is loaded from it
    and saved to it after every failure and by save_state()."""

    def __init__(self, key: KeyPair, psk: bytes, padding: Padding = Padding.PKCS1V15,
                 state_file: Path | None = None) -> None:
        self._state_file = state_file
        state = load_state(state_file) if state_file is not None else None
        try:
            self.server = Server(key, padding, state=state)
        except InvalidState:
            # Saved by a server with another key (the key file was replaced)
            # or damaged: start afresh rather than not at all.
            print(f"server: {state_file} does not match this key; starting with a fresh failure state",
                  flush=True)
            self.server = Server(key, padding)
        self.public_key_b64 = self.server.public_key_base64()
        self._psk = psk
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._saved_failures = self.server.stats().failures
        # key_id of the storing client's common key -> its secretData1.
        self._secrets: OrderedDict[int, bytes] = OrderedDict()
        # The device's text form (appControl setTextForm / getTextForm).
        self._text_form = ""

    def save_state(self, only_after_failures: bool = False) -> None:
        """Writes the failure state next to the key file (when it has one);
        with `only_after_failures`, only when failures happened since."""
        if self._state_file is None:
            return
        with self._state_lock:
            failures = self.server.stats().failures
            if only_after_failures and failures == self._saved_failures:
                return
            write_secret_file_atomically(self._state_file, self.server.export_state())
            self._saved_failures = failures

    def call(self, service: str, method: str, params: list[Any], psk: str | None, peer: str) -> list[Any]:
        handlers = {
            ("encryption", "getPublicKey"): (self.get_public_key, False),
            ("demo", "sendSecretData"): (self.send_secret_data, True),
            ("demo", "getSecretData"): (self.get_secret_data, True),
            ("appControl", "setTextForm"): (self.set_text_form, True),
            ("appControl", "getTextForm"): (self.get_text_form, True),
        }
        if (service, method) not in handlers:
            raise RpcError(NO_SUCH_METHOD)
        handler, needs_psk = handlers[(service, method)]
        if needs_psk and not self._authorized(psk):
            raise RpcError(UNAUTHORIZED)
        if not isinstance(params, list) or len(params) > 1 or (params and not isinstance(params[0], dict)):
            raise RpcError(ILLEGAL_ARGUMENT)
        return handler(params[0] if params else {}, peer)

    def _authorized(self, psk: str | None) -> bool:
        # Constant time: the comparison must not tell how much of a guess is right.
        return psk is not None and hmac.compare_digest(psk.encode("utf-8", "replace"), self._psk)

    def get_public_key(self, params: dict[str, Any], peer: str) -> list[Any]:
        return [{"publicKey": self.public_key_b64}]

    def _session(self, params: dict[str, Any], peer: str) -> ServerSession:
        enc_key = params.get("encKey")
        if not isinstance(enc_key, str):
            raise RpcError(ILLEGAL_ARGUMENT)
        return self.server.open(enc_key, peer=peer)

    def send_secret_data(self, params: dict[str, Any], peer: str) -> list[Any]:
        names = [name for name in ("secretData1", "secretData2") if name in params]
        if not names or not all(isinstance(params[n], str) for n in names):
            raise RpcError(ILLEGAL_ARGUMENT)
        with self._session(params, peer) as session:
            # String parameters: a value that is not UTF-8 fails (and counts)
            # like a bad padding.
            stored = {name: session.decrypt_text(params[name]).encode() for name in names}
            owner = session.key_id
        with self._lock:
            self._secrets[owner] = stored.get("secretData1", b"")
            self._secrets.move_to_end(owner)
            while len(self._secrets) > MAX_STORED_CLIENTS:
                self._secrets.popitem(last=False)
        return []

    def get_secret_data(self, params: dict[str, Any], peer: str) -> list[Any]:
        with self._session(params, peer) as session:
            with self._lock:
                secret = self._secrets.get(session.key_id, b"")
            return [{"secretData": session.encrypt(secret)}]

    def set_text_form(self, params: dict[str, Any], peer: str) -> list[Any]:
        if not isinstance(params.get("text"), str):
            raise RpcError(ILLEGAL_ARGUMENT)
        with self._session(params, peer) as session:
            text = session.decrypt_text(params["text"])
        with self._lock:
            self._text_form = text
        return []

    def get_text_form(self, params: dict[str, Any], peer: str) -> list[Any]:
        with self._session(params, peer) as session:
            with self._lock:
                text = self._text_form
            return [{"text": session.encrypt(text)}]


def parse_content_length(value: str | None) -> int:
    """The body length: decimal digits only, within MAX_BODY."""
    if value is None or not value.isdigit() or not value.isascii():
        raise RpcError(ILLEGAL_REQUEST)
    length = int(value)
    if length <= 0 or length > MAX_BODY:
        raise RpcError(ILLEGAL_REQUEST)
    return length


def parse_request(body: bytes) -> dict[str, Any]:
    """The JSON-RPC request object, or ILLEGAL_REQUEST for anything else
    (bad UTF-8 or JSON, nesting deeper than Python recurses, a request that
    is no object, a method that is no string, an id that is no number,
    string or null)."""
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        raise RpcError(ILLEGAL_REQUEST) from None
    if not isinstance(request, dict) or not isinstance(request.get("method"), str):
        raise RpcError(ILLEGAL_REQUEST)
    request_id = request.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, (int, str))):
        raise RpcError(ILLEGAL_REQUEST)
    return request


def make_handler(device: Device, read_timeout: float = READ_TIMEOUT) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The socket's timeout: a read that waits longer ends the connection.
        timeout = read_timeout

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            request_id: Any = None
            try:
                if not self.path.startswith("/sony/"):
                    self.close_connection = True  # the body was not read
                    return self._send(404, {"error": list(NO_SUCH_METHOD), "id": None})
                service = self.path[len("/sony/"):]
                if self.headers.get("Transfer-Encoding") is not None:
                    raise RpcError(ILLEGAL_REQUEST)
                length = parse_content_length(self.headers.get("Content-Length"))
                request = parse_request(self.rfile.read(length))
                request_id = request.get("id")
                psk = self.headers.get(PSK_HEADER)
                peer = self.client_address[0]
                result = device.call(service, request["method"], request.get("params", []), psk, peer)
                self._send(200, {"result": result, "id": request_id})
            except EncryptionFailed:
                # Saved before the answer, so that a client sending its next
                # request as soon as it has this answer never finds this
                # thread still at work: on a slow disk, one peer's requests
                # would pile up threads until the per-address bound refused it.
                try:
                    device.save_state(only_after_failures=True)
                except OSError as err:
                    sys.stderr.write(f"server: failure state not saved ({type(err).__name__})\n")
                self._send(200, {"error": list(ENCRYPTION_FAILED), "id": request_id})
            except RpcError as err:
                # The body may be unread: the connection cannot carry another request.
                self.close_connection = True
                self._send(200, {"error": list(err.error), "id": request_id})
            except TimeoutError:
                raise  # http.server closes the connection
            except Exception as err:  # noqa: BLE001 (every request gets an answer)
                # The exception's type only: its text could quote the request.
                sys.stderr.write(f"server: internal error {type(err).__name__}\n")
                self.close_connection = True
                self._send(500, {"error": list(INTERNAL_ERROR), "id": request_id})

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            # Method and status only; never bodies (they carry encKeys and secrets).
            sys.stderr.write(f"server: {self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")

    return Handler


class BoundedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a bound on connections at once, in all and
    per address: a connection beyond either is answered 503 and closed
    without a thread."""

    # Connections waiting to be accepted (socketserver's default is 5, which
    # makes a burst of clients wait for SYN retries).
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type,
                 max_connections: int = MAX_CONNECTIONS,
                 max_per_peer: int = MAX_CONNECTIONS_PER_PEER) -> None:
        super().__init__(address, handler)
        self.max_connections = max_connections
        self.max_per_peer = max_per_peer
        self._count_lock = threading.Lock()
        self._open = 0
        self._per_peer: collections.Counter[str] = collections.Counter()

    def process_request(self, request: Any, client_address: Any) -> None:
        peer = client_address[0]
        with self._count_lock:
            admitted = self._open < self.max_connections and self._per_peer[peer] < self.max_per_peer
            if admitted:
                self._open += 1
                self._per_peer[peer] += 1
        if not admitted:
            with contextlib.suppress(OSError):
                request.setblocking(False)  # never wait on a client that does not read
                request.send(BUSY_RESPONSE)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._count_lock:
                self._open -= 1
                self._per_peer[client_address[0]] -= 1
                if self._per_peer[client_address[0]] == 0:
                    del self._per_peer[client_address[0]]


def state_file_for(key_file: Path) -> Path:
    """Where the failure state lives: next to the key file."""
    return key_file.with_name(key_file.name + ".state")


def serve(port: int, key_file: Path, psk_file: Path, host: str = "127.0.0.1",
          read_timeout: float = READ_TIMEOUT) -> None:
    # Lockdowns (possible attacks) go to stderr through the "paramcrypt" logger.
    logging.basicConfig(level=logging.INFO, format="server: %(levelname)s %(message)s", stream=sys.stderr)
    key, created = load_or_create_key(key_file)
    print(f"server: {'generated a new' if created else 'loaded the'} {key.bits}-bit key "
          f"{'into' if created else 'from'} {key_file}", flush=True)
    device = Device(key, load_or_create_psk(psk_file), state_file=state_file_for(key_file))
    httpd = BoundedHTTPServer((host, port), make_handler(device, read_timeout))
    print(f"server: listening on http://{host}:{httpd.server_address[1]}", flush=True)
    # SIGTERM ends the server like Ctrl-C, so that the state is saved.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
        device.save_state()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--key-file", type=Path, default=Path("server-key.pem"), help="PEM key file")
    parser.add_argument("--psk-file", type=Path, default=Path("server-psk.txt"),
                        help="file holding the pre-shared key for X-Auth-PSK (made if missing)")
    parser.add_argument("--read-timeout", type=float, default=READ_TIMEOUT,
                        help="seconds a client may pause while sending a request")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.port, args.key_file, args.psk_file, args.host, args.read_timeout)


if __name__ == "__main__":
    main()
