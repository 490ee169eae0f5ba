"""The example server and client, over real HTTP on a loopback port."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_client_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_client", EXAMPLES / "client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Server:
    """server.py in a subprocess; stopped by the test, always."""

    def __init__(self, key_file: Path, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "server.py"), "--port", str(port), "--key-file", str(key_file)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        for _ in range(2):
            line = self.proc.stdout.readline()
            if not line:
                self.stop()
                raise RuntimeError(f"server did not start: {self.lines}")
            self.lines.append(line.strip())
        self.url = self.lines[1].split("listening on ")[1]
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "server-key.pem"


def post(url: str, service: str, body: bytes) -> Any:
    request = urllib.request.Request(f"{url}/sony/{service}", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_client_script_round_trip(key_file: Path) -> None:
    server = Server(key_file)
    try:
        assert "generated a new 2048-bit key" in server.lines[0]
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        result = subprocess.run([sys.executable, str(EXAMPLES / "client.py"), "--url", server.url],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "match (1 initialization(s), 0 x 40002)" in result.stdout
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
    client_module = load_client_module()
    server = Server(key_file)
    try:
        client = client_module.Client(server.url)
        client.send_secrets("first", "second")
        assert client.get_secret() == b"first"
        assert (client.initializations, client.encryption_failures) == (1, 0)
    finally:
        server.stop()
    key_file.unlink()  # the device comes back with a new key
    server = Server(key_file, server.port)
    try:
        stale = client.enc_key
        reply = post(server.url, "demo", json.dumps(
            {"method": "sendSecretData", "params": [{"secretData1": client.session.encrypt("x"), "encKey": stale}],
             "id": 7}).encode())
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
        ]
        for service, body, error in cases:
            assert post(server.url, service, body)["error"] == error, body
    finally:
        server.stop()
