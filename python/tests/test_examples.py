"""The example server and client, over real HTTP on a loopback port: the
round trip, key reload, 40002 recovery, the pre-shared key and per-client
secrets, Vaudenay's padding-oracle attack on one captured key and across
keys (the attacker on 127.0.0.2, the victim on 127.0.0.1), which the server
stops, and its failure state across a restart."""

from __future__ import annotations

import base64
import http.client
import importlib.util
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from paramcrypt import PublicKey, Session

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class DemoClient:
    """A hand-made client of the demo service (sendSecretData and
    getSecretData): one common key for many calls, a new one after 40002.
    The tests use it where they need the encKey and session in hand;
    applications use paramcrypt.Client (test_client.py)."""

    def __init__(self, url: str, psk: str) -> None:
        self.url, self.psk = url, psk
        self.session: Session | None = None
        self.enc_key = ""
        self.initializations = 0
        self.encryption_failures = 0

    def initialize(self) -> Session:
        reply = post(self.url, "encryption", request("getPublicKey", {}))
        public_key = PublicKey.from_base64(reply["result"][0]["publicKey"])
        self.session = Session.new()
        self.enc_key = self.session.wrap(public_key)
        self.initializations += 1
        return self.session

    def _call(self, method: str, secrets: dict[str, str]) -> tuple[Any, Session]:
        for attempt in range(2):
            session = self.session or self.initialize()
            params = {name: session.encrypt(value) for name, value in secrets.items()}
            params["encKey"] = self.enc_key
            reply = post(self.url, "demo", request(method, params), self.psk)
            if "error" not in reply:
                return reply, session
            if reply["error"][0] == 40002 and attempt == 0:
                self.encryption_failures += 1
                self.session = None
                continue
            raise RuntimeError(f"{method}: {reply['error']}")
        raise AssertionError("unreachable")

    def send_secrets(self, secret1: str, secret2: str) -> None:
        self._call("sendSecretData", {"secretData1": secret1, "secretData2": secret2})

    def get_secret(self) -> bytes:
        reply, session = self._call("getSecretData", {})
        return session.decrypt(reply["result"][0]["secretData"])


class Server:
    """server.py in a subprocess; stopped by the test, always. Its PSK file
    sits beside the key file."""

    def __init__(self, key_file: Path, port: int = 0, extra: tuple[str, ...] = ()) -> None:
        self.psk_file = key_file.with_suffix(".psk")
        self.log_file = key_file.with_suffix(".log")
        with open(self.log_file, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(EXAMPLES / "server.py"), "--port", str(port), "--key-file", str(key_file),
                 "--psk-file", str(self.psk_file), *extra],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        while not self.lines or "listening on " not in self.lines[-1]:
            line = self.proc.stdout.readline()
            if not line or len(self.lines) > 5:
                self.stop()
                raise RuntimeError(f"server did not start: {self.lines}")
            self.lines.append(line.strip())
        self.url = self.lines[-1].split("listening on ")[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.psk = self.psk_file.read_text().strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "server-key.pem"


# The attacker's loopback address (the victim and the example client use
# 127.0.0.1): the server tells them apart by the connection's source.
ATTACKER = "127.0.0.2"


def post(url: str, service: str, body: bytes, psk: str | None = None, source: str | None = None) -> Any:
    """POST a JSON-RPC body; from the loopback address `source` if given."""
    headers = {"Content-Type": "application/json"}
    if psk is not None:
        headers["X-Auth-PSK"] = psk
    if source is None:
        request = urllib.request.Request(f"{url}/sony/{service}", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30,
                                            source_address=(source, 0))
    try:
        connection.request("POST", f"/sony/{service}", body=body, headers=headers)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def test_client_script_round_trip(key_file: Path) -> None:
    server = Server(key_file)
    try:
        assert "generated a new 2048-bit key" in server.lines[0]
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(server.psk_file).st_mode) == 0o600
        result = subprocess.run([sys.executable, str(EXAMPLES / "client.py"), "--url", server.url,
                                 "--psk-file", str(server.psk_file), "--known-devices",
                                 str(key_file.with_name("known_devices"))],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "under fresh common keys: match" in result.stdout
    finally:
        server.stop()


def test_key_is_reloaded_on_restart(key_file: Path) -> None:
    first = Server(key_file)
    try:
        public_key = post(first.url, "encryption", b'{"method":"getPublicKey","params":[],"id":1}')
    finally:
        first.stop()
    second = Server(key_file, first.port)
    try:
        assert "loaded the 2048-bit key" in second.lines[0]
        again = post(second.url, "encryption", b'{"method":"getPublicKey","params":[],"id":1}')
        assert again == public_key
    finally:
        second.stop()


def test_client_recovers_from_40002_after_key_change(key_file: Path) -> None:
    server = Server(key_file)
    try:
        client = DemoClient(server.url, server.psk)
        client.send_secrets("first", "second")
        assert client.get_secret() == b"first"
        assert (client.initializations, client.encryption_failures) == (1, 0)
    finally:
        server.stop()
    key_file.unlink()  # the device comes back with a new key
    server = Server(key_file, server.port)
    try:
        assert "does not match this key; starting with a fresh failure state" in server.lines[1]
        stale = client.enc_key
        assert client.session is not None
        reply = post(server.url, "demo", json.dumps(
            {"method": "sendSecretData", "params": [{"secretData1": client.session.encrypt("x"), "encKey": stale}],
             "id": 7}).encode(), server.psk)
        assert reply == {"error": [40002, "Encryption Failed"], "id": 7}
        client.send_secrets("third", "fourth")
        assert client.initializations == 2 and client.encryption_failures == 1
        assert client.get_secret() == b"third"
    finally:
        server.stop()


def test_malformed_requests_get_json_rpc_errors(key_file: Path) -> None:
    server = Server(key_file)
    try:
        cases = [
            ("demo", b"not json", [5, "Illegal Request"]),
            ("demo", b"[]", [5, "Illegal Request"]),
            ("demo", b'{"method":"nope","params":[],"id":1}', [12, "No Such Method"]),
            ("nosuchservice", b'{"method":"getPublicKey","params":[],"id":1}', [12, "No Such Method"]),
            ("demo", b'{"method":"getSecretData","params":[{}],"id":1}', [3, "Illegal Argument"]),
            ("demo", b'{"method":"getSecretData","params":"x","id":1}', [3, "Illegal Argument"]),
            ("demo", b'{"method":"sendSecretData","params":[{"encKey":"AAAA"}],"id":1}', [3, "Illegal Argument"]),
            ("demo", b'{"method":"getSecretData","params":[{"encKey":"AAAA"}],"id":1}', [40002, "Encryption Failed"]),
            ("demo", b'{"method":"sendSecretData","params":[{"encKey":"AAAA","secretData1":"AAAA"}],"id":1}',
             [40002, "Encryption Failed"]),
            # Found by the hardening review: each of these closed the
            # connection with a traceback.
            ("demo", b'{"method":"getSecretData","params":[{"encKey":"\\ud800"}],"id":1}',
             [40002, "Encryption Failed"]),
            ("demo", b"[" * 30000 + b"]" * 30000, [5, "Illegal Request"]),
            ("demo", b'{"method":"getSecretData","params":[{}],"id":{"a":1}}', [5, "Illegal Request"]),
        ]
        for service, body, error in cases:
            assert post(server.url, service, body, server.psk)["error"] == error, body
    finally:
        server.stop()


def exchange(port: int, raw: bytes, source: str = "127.0.0.1") -> tuple[int, Any]:
    """Sends raw bytes as an HTTP request; the status and JSON body of the
    answer (the server closes the connection after these)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0)) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_malformed_http_gets_json_rpc_errors(key_file: Path) -> None:
    server = Server(key_file)
    try:
        body = b'{"method":"getPublicKey","params":[],"id":1}'
        for headers in (b"Content-Length: abc", b"Content-Length: -1", b"Content-Length: \xd9\xa3",
                        b"Content-Length: 99999999999999999999", b"Transfer-Encoding: chunked", b""):
            raw = b"POST /sony/encryption HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n\r\n" + body
            status, answer = exchange(server.port, raw)
            assert (status, answer["error"]) == (200, [5, "Illegal Request"]), headers
        # The server still serves.
        assert "publicKey" in post(server.url, "encryption", body)["result"][0]
    finally:
        server.stop()
    assert "Traceback" not in (key_file.with_suffix(".log")).read_text()


def server_threads(server: Server) -> int:
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def test_slow_clients_hold_bounded_threads_and_honest_requests_are_served(key_file: Path) -> None:
    # Connections that promise a body and never send it. Before: one thread
    # each, held for ever (500 connections, 500 threads).
    server = Server(key_file, extra=("--read-timeout", "2"))
    stalled = b"POST /sony/encryption HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    body = b'{"method":"getPublicKey","params":[],"id":1}'
    held: list[socket.socket] = []
    try:
        # 200 from the attacker's address: 8 get a thread, the rest a 503.
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30, source_address=(ATTACKER, 0))
            sock.sendall(stalled)
            held.append(sock)
        time.sleep(0.3)
        assert server_threads(server) <= 1 + 8
        assert "publicKey" in post(server.url, "encryption", body)["result"][0]
        # The last of them was answered at once and closed.
        busy = held[-1].recv(4096)
        assert busy.startswith(b"HTTP/1.1 503 ") and b'"error": [7, "Illegal State"]' in busy
        # 500 from 100 addresses: at most 64 threads in all.
        for i in range(100):
            for _ in range(5):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=30,
                                                source_address=(f"127.0.1.{i + 1}", 0))
                sock.sendall(stalled)
                held.append(sock)
        time.sleep(0.3)
        assert server_threads(server) <= 1 + 64
        # The read timeout frees them all; then honest requests are served.
        deadline = time.monotonic() + 20
        while server_threads(server) > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server_threads(server) == 1
        assert "publicKey" in post(server.url, "encryption", body)["result"][0]
    finally:
        for sock in held:
            sock.close()
        server.stop()


def request(method: str, params: dict[str, str], request_id: int = 1) -> bytes:
    return json.dumps({"method": method, "params": [params], "id": request_id, "version": "1.0"}).encode()


def test_secret_methods_need_the_pre_shared_key(key_file: Path) -> None:
    server = Server(key_file)
    try:
        client = DemoClient(server.url, server.psk)
        client.send_secrets("mine", "too")
        for psk in (None, "", "wrong", server.psk[:-1], server.psk + "x"):
            for method, params in (
                ("sendSecretData", {"secretData1": "AAAA", "encKey": client.enc_key}),
                ("getSecretData", {"encKey": client.enc_key}),
            ):
                reply = post(server.url, "demo", request(method, params), psk)
                assert reply["error"] == [401, "Unauthorized"], (method, psk)
        # getPublicKey needs none; the stored secret is untouched.
        assert "result" in post(server.url, "encryption", request("getPublicKey", {}))
        assert client.get_secret() == b"mine"
    finally:
        server.stop()


def test_stored_secrets_belong_to_the_client_that_stored_them(key_file: Path) -> None:
    server = Server(key_file)
    try:
        alice = DemoClient(server.url, server.psk)
        bob = DemoClient(server.url, server.psk)
        alice.send_secrets("alice's secret", "a")
        bob.send_secrets("bob's secret", "b")
        assert alice.get_secret() == b"alice's secret"
        assert bob.get_secret() == b"bob's secret"
        carol = DemoClient(server.url, server.psk)
        assert carol.get_secret() == b""  # stored nothing: gets nothing
    finally:
        server.stop()


def load_example_server() -> Any:
    """examples/server.py as a module, to run its server in this process."""
    spec = importlib.util.spec_from_file_location("example_server", EXAMPLES / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_failure_is_on_disk_before_its_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a slow disk (each state write takes 0.2 s): every 40002 arrives
    after its failure state is saved, and one peer's failed requests, sent
    one after another, are all answered. Saving after the answer let them
    pile up threads until the per-address bound answered 503 (the client
    saw a BrokenPipeError)."""
    example = load_example_server()
    write = example.write_secret_file_atomically

    def slow_write(path: Path, data: bytes) -> None:
        time.sleep(0.2)
        write(path, data)

    monkeypatch.setattr(example, "write_secret_file_atomically", slow_write)
    key, _ = example.load_or_create_key(tmp_path / "key.pem")
    state_file = tmp_path / "key.pem.state"
    device = example.Device(key, b"psk", state_file=state_file)
    httpd = example.BoundedHTTPServer(("127.0.0.1", 0), example.make_handler(device))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        public_key = PublicKey.from_base64(device.public_key_b64)
        forged = base64.b64encode(bytes(17)).decode()  # never a whole block: always a failure
        saved = b""
        # One more than the per-address bound, and fewer than the ten
        # failures that lock a peer down.
        for _ in range(example.MAX_CONNECTIONS_PER_PEER + 1):
            enc_key = Session.new().wrap(public_key)
            reply = post(url, "appControl", request("setTextForm", {"text": forged, "encKey": enc_key}),
                         "psk", ATTACKER)
            assert reply["error"][0] == 40002, reply
            assert state_file.exists(), "answered before the failure was saved"
            assert state_file.read_bytes() != saved, "answered before the failure was saved"
            saved = state_file.read_bytes()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_replayed_enc_key_is_no_padding_oracle(key_file: Path) -> None:
    """Vaudenay's attack as an attacker on the LAN would run it: replay a
    captured sendSecretData request (encKey and a 3-block secret) from its
    own address with forged secretData1 values and read success or 40002.
    The server refuses the common key after the first failure, and the
    attacker's address after ten: every forged request after the first
    failure gets 40002, and nothing is recovered."""
    server = Server(key_file)
    try:
        victim = DemoClient(server.url, server.psk)
        secret = "the victim's 40-byte password, captured"
        victim.send_secrets(secret, "x")
        captured_enc_key = victim.enc_key
        assert victim.session is not None
        ciphertext = base64.b64decode(victim.session.encrypt(secret))
        assert len(ciphertext) == 48

        answers = []
        target = ciphertext[16:32]  # block 2, with block 1 as its forged predecessor
        intermediate = bytearray(16)
        for position in range(15, -1, -1):
            pad = 16 - position
            forged = bytearray(16)
            for i in range(position + 1, 16):
                forged[i] = intermediate[i] ^ pad
            found = None
            for guess in range(256):
                forged[position] = guess
                value = base64.b64encode(bytes(forged) + target).decode()
                reply = post(server.url, "demo", request(
                    "sendSecretData", {"secretData1": value, "encKey": captured_enc_key}), server.psk, ATTACKER)
                answers.append("result" in reply)
                if answers[-1]:
                    found = guess ^ pad
                    break
            if found is None:
                break  # no valid padding at all: the oracle is gone
            intermediate[position] = found

        first_failure = answers.index(False)
        assert first_failure <= 2
        assert not any(answers[first_failure:]), "a forged request after the first failure was accepted"
        assert len(answers) >= 256
        # The victim's next request fails too; it starts over and is served.
        victim.send_secrets("new password", "y")
        assert victim.encryption_failures == 1
        assert victim.get_secret() == b"new password"
    finally:
        server.stop()


def test_the_cross_key_attack_from_another_address_recovers_nothing(key_file: Path) -> None:
    """The victim sends the same secret again and again, each time under a
    fresh common key; the attacker replays each captured request once from
    its own address, with secretData1 forged to test one guess of the last
    byte of the secret's second block (valid padding: the guess is right).
    A guess about the plaintext carries over from key to key, so refusing
    each key does not stop this; locking the attacker's address down after
    ten failures does, and the victim stays served."""
    server = Server(key_file)
    try:
        reply = post(server.url, "encryption", request("getPublicKey", {}))
        public_key = PublicKey.from_base64(reply["result"][0]["publicKey"])
        secret = "PIN 7391 and a passphrase: xylophone"  # byte 31 is 'p' (112)
        recovered, attacker_answers = None, []
        # 120 calls: enough for a server without the policy to give byte 31 away.
        for guess in range(120):
            call = guess
            victim = Session.new()
            enc_key = victim.wrap(public_key)
            value = base64.b64decode(victim.encrypt(secret))
            reply = post(server.url, "demo", request(
                "sendSecretData", {"secretData1": base64.b64encode(value).decode(), "encKey": enc_key}, call),
                server.psk)
            assert "result" in reply, f"the victim's call {call} failed: {reply}"
            forged = bytearray(value[:32])
            forged[15] ^= guess ^ 1
            reply = post(server.url, "demo", request(
                "sendSecretData", {"secretData1": base64.b64encode(bytes(forged)).decode(), "encKey": enc_key}),
                server.psk, ATTACKER)
            attacker_answers.append("result" in reply)
            if attacker_answers[-1]:
                recovered = guess
        assert recovered is None and not any(attacker_answers)
    finally:
        server.stop()
    # The log names the attacker's address as a possible attack, and holds
    # no secret: no encKey, value or PSK.
    log = server.log_file.read_text()
    assert "peer_lockdown_started (peer 127.0.0.2, 3600 s)" in log
    assert enc_key not in log and server.psk not in log and "xylophone" not in log


def test_the_failure_state_survives_a_restart(key_file: Path) -> None:
    """Ten failures lock the attacker's address down for an hour; the state
    is saved next to the key file (mode 0600), so the restarted server keeps
    the lockdown while the victim is served."""
    forged = base64.b64encode(b"\x5a" * 17).decode()
    server = Server(key_file)
    try:
        reply = post(server.url, "encryption", request("getPublicKey", {}))
        public_key = PublicKey.from_base64(reply["result"][0]["publicKey"])
        for i in range(10):
            enc_key = Session.new().wrap(public_key)
            reply = post(server.url, "demo", request(
                "sendSecretData", {"secretData1": forged, "encKey": enc_key}, i), server.psk, ATTACKER)
            assert reply["error"] == [40002, "Encryption Failed"]
    finally:
        server.stop()
    state_file = key_file.with_name(key_file.name + ".state")
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    server = Server(key_file, server.port)
    try:
        session = Session.new()
        body = request("sendSecretData", {"secretData1": session.encrypt("ok"), "encKey": session.wrap(public_key)})
        assert post(server.url, "demo", body, server.psk, ATTACKER)["error"] == [40002, "Encryption Failed"]
        assert "result" in post(server.url, "demo", body, server.psk)
    finally:
        server.stop()
