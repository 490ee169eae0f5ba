"""paramcrypt.Client against the example server over loopback HTTP: a normal
call, key pinning across a device key change (with and without re-pinning),
a refused common key served by the single retry, the failure budget, the
cross-key attack with the client as the victim, the example client script,
and every public-key form (wrapped encKeys opened by OpenSSL, through
`cryptography`)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from test_examples import ATTACKER, EXAMPLES, Server, post, request

from paramcrypt import (
    Client,
    EncryptionFailed,
    FailureBudgetSpent,
    HttpTransport,
    KnownDevices,
    PinMismatch,
    PublicKey,
    RpcError,
    Session,
    TransportError,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
# The command-line tool (`make test-python` builds it first).
CLI = os.environ.get("PARAMCRYPT_CLI") or str(ROOT / "target" / "release" / "paramcrypt")


class Recording:
    """A transport that records every request (what an eavesdropper sees)
    and can tamper with encKeys (what an attacker in the path does)."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str]] = []
        self.tamper = False

    def __call__(self, service: str, body: str) -> str:
        self.requests.append((service, body))
        if self.tamper and "encKey" in params_of(body):
            changed = json.loads(body)
            changed["params"][0]["encKey"] = "AAAA" + changed["params"][0]["encKey"]  # no longer valid
            body = json.dumps(changed)
        return self.inner(service, body)


def params_of(body: str) -> dict[str, Any]:
    """The params object of a recorded request."""
    params: list[dict[str, Any]] = json.loads(body)["params"]
    return params[0] if params else {}


def set_text(client: Client, text: str) -> None:
    client.call("appControl", "setTextForm", secrets={"text": text}, version="1.1")


def get_text(client: Client) -> str:
    result: Any = client.call("appControl", "getTextForm", decrypt=["text"], version="1.1")
    text: str = result[0]["text"]
    return text


def test_a_secret_goes_in_one_call_and_comes_back_in_another(tmp_path: Path) -> None:
    server = Server(tmp_path / "key.pem")
    try:
        known = tmp_path / "known_devices"
        client = Client.http(server.url, server.psk, known_devices=known)
        set_text(client, "the hotel wifi password")
        assert get_text(client) == "the hotel wifi password"
        # Trust on first use: the key is pinned in the known-devices file.
        device_key = PublicKey.from_base64(post(server.url, "encryption", request("getPublicKey", {}))
                                           ["result"][0]["publicKey"])
        assert client.fingerprint == device_key.fingerprint
        assert KnownDevices(known).get(server.url) == device_key.fingerprint
        with pytest.raises(RpcError) as info:
            client.call("appControl", "noSuchMethod", secrets={"x": "y"})
        assert (info.value.error_code, info.value.error_message) == (12, "No Such Method")
    finally:
        server.stop()


def test_a_device_with_a_new_key_gets_nothing_secret_until_the_pin_is_reset(tmp_path: Path) -> None:
    key_file, known = tmp_path / "key.pem", tmp_path / "known_devices"
    server = Server(key_file)
    try:
        set_text(Client.http(server.url, server.psk, known_devices=known), "before")
    finally:
        server.stop()
    key_file.unlink()  # the device comes back with a new key
    server = Server(key_file, server.port)
    try:
        logged_before = len(server.log_file.read_text())
        client = Client.http(server.url, server.psk, known_devices=known)
        with pytest.raises(PinMismatch) as info:
            set_text(client, "a secret")
        pinned = KnownDevices(known).get(server.url)
        assert pinned is not None and pinned in str(info.value) and "a secret" not in str(info.value)
        server.stop()
        log = server.log_file.read_text()[logged_before:]
        assert "POST /sony/encryption" in log
        assert "POST /sony/appControl" not in log, "the device received no encrypted value"
        server = Server(key_file, server.port)
        client = Client.http(server.url, server.psk, known_devices=known)
        client.repin()
        set_text(client, "after")
        assert get_text(client) == "after"
        assert KnownDevices(known).get(server.url) == client.fingerprint != pinned
    finally:
        server.stop()


def test_a_refused_common_key_is_served_by_the_single_retry(tmp_path: Path) -> None:
    server = Server(tmp_path / "key.pem")
    try:
        transport = Recording(HttpTransport(server.url, server.psk))
        client = Client(transport, reuse_calls=100)
        set_text(client, "first")
        # An attacker replays the client's captured encKey with a junk value
        # from its own address: the device refuses that common key.
        enc_key = [params_of(body) for _, body in transport.requests if "encKey" in params_of(body)][-1]["encKey"]
        junk = base64.b64encode(b"\x5a" * 17).decode()
        reply = post(server.url, "appControl", request("setTextForm", {"text": junk, "encKey": enc_key}),
                     server.psk, ATTACKER)
        assert reply["error"] == [40002, "Encryption Failed"]
        sent = len(transport.requests)
        set_text(client, "second")  # 40002, then served under a new common key
        assert len(transport.requests) - sent == 2
        assert get_text(client) == "second"
    finally:
        server.stop()


def test_the_failure_budget_stops_re_sending(tmp_path: Path) -> None:
    server = Server(tmp_path / "key.pem")
    try:
        transport = Recording(HttpTransport(server.url, server.psk))
        client = Client(transport)
        set_text(client, "first")
        transport.tamper = True  # every encKey now fails: 40002
        with pytest.raises(EncryptionFailed):
            set_text(client, "second")  # the call and its one retry
        with pytest.raises(FailureBudgetSpent):
            set_text(client, "third")  # the third failure in ten minutes
        sent = len(transport.requests)
        for _ in range(5):
            with pytest.raises(FailureBudgetSpent):
                set_text(client, "again")
        assert len(transport.requests) == sent, "nothing is sent past the budget"
        transport.tamper = False
        client.reset_failures()
        assert get_text(client) == "first"
    finally:
        server.stop()


def test_the_cross_key_attack_on_the_client_recovers_nothing(tmp_path: Path) -> None:
    """The victim (the client object, a fresh common key per call) sets the
    same secret again and again; the attacker replays each captured request
    once from its own address, with the value forged to test one guess of
    the secret's byte 31 ('p', 112). The server's policy locks the attacker
    out after ten failures; the victim is always served."""
    server = Server(tmp_path / "key.pem")
    try:
        transport = Recording(HttpTransport(server.url, server.psk))
        victim = Client(transport)
        secret = "PIN 7391 and a passphrase: xylophone"
        answers = []
        for guess in range(120):
            set_text(victim, secret)
            captured = params_of(transport.requests[-1][1])
            enc_key, value = captured["encKey"], base64.b64decode(captured["text"])
            forged = bytearray(value[:32])
            forged[15] ^= guess ^ 1
            reply = post(server.url, "appControl", request(
                "setTextForm", {"text": base64.b64encode(bytes(forged)).decode(), "encKey": enc_key}),
                server.psk, ATTACKER)
            answers.append("result" in reply)
        assert not any(answers), "the attacker recovered byte 31"
        assert get_text(victim) == secret
    finally:
        server.stop()


def test_the_example_client_script(tmp_path: Path) -> None:
    key_file, known = tmp_path / "key.pem", tmp_path / "known_devices"
    server = Server(key_file)
    try:
        args = [sys.executable, str(EXAMPLES / "client.py"), "--url", server.url, "--psk-file",
                str(server.psk_file), "--known-devices", str(known)]
        result = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "setTextForm then getTextForm under fresh common keys: match" in result.stdout
    finally:
        server.stop()
    key_file.unlink()
    server = Server(key_file, server.port)
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "not the pinned" in result.stderr
        result = subprocess.run([*args, "--repin"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    finally:
        server.stop()


def published_forms(public: rsa.RSAPublicKey) -> dict[str, bytes]:
    """The forms a device may publish its key in, as `cryptography` (OpenSSL)
    writes them."""
    encoding, formats = serialization.Encoding, serialization.PublicFormat
    spki_der = public.public_bytes(encoding.DER, formats.SubjectPublicKeyInfo)
    pkcs1_der = public.public_bytes(encoding.DER, formats.PKCS1)
    openssh = public.public_bytes(encoding.OpenSSH, formats.OpenSSH)
    return {
        "spki base64": base64.b64encode(spki_der),
        "spki pem": public.public_bytes(encoding.PEM, formats.SubjectPublicKeyInfo),
        "pkcs1 pem": public.public_bytes(encoding.PEM, formats.PKCS1),
        "pkcs1 base64": base64.b64encode(pkcs1_der),
        "openssh": openssh + b" device@example",
        "openssh wire": openssh.split()[1],
    }


def opens_with_openssl(private: rsa.RSAPrivateKey, public_text: bytes) -> None:
    """An encKey wrapped to the key in `public_text`, and a value under it,
    opened by OpenSSL with the private key."""
    session = Session.new()
    enc_key = session.wrap(PublicKey.from_published(public_text))
    plaintext = private.decrypt(base64.b64decode(enc_key), padding.PKCS1v15())
    key_hex, iv_hex = plaintext.decode("ascii").split(":")
    decryptor = Cipher(algorithms.AES(bytes.fromhex(key_hex)), modes.CBC(bytes.fromhex(iv_hex))).decryptor()
    padded = decryptor.update(base64.b64decode(session.encrypt("opened"))) + decryptor.finalize()
    assert padded[: -padded[-1]] == b"opened"


@pytest.mark.parametrize("form", list(published_forms(rsa.generate_private_key(65537, 2048).public_key())))
def test_every_public_key_form_wraps_an_enc_key_openssl_opens(form: str) -> None:
    private = rsa.generate_private_key(65537, 2048)
    opens_with_openssl(private, published_forms(private.public_key())[form])


def test_the_forms_of_a_key_with_exponent_35_made_by_openssl_and_ssh_keygen() -> None:
    published = DATA / "keys" / "published"
    private = serialization.load_pem_private_key((published / "rsa2048_e35_pkcs8.pem").read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.public_key().public_numbers().e == 35
    fingerprint = (published / "fingerprint.txt").read_text().strip()
    for name in ("spki.b64", "spki.pem", "pkcs1.pem", "pkcs1.b64", "openssh.pub", "openssh_wire.b64"):
        text = (published / name).read_bytes()
        assert PublicKey.from_published(text).fingerprint == fingerprint, name
        opens_with_openssl(private, text)


def test_the_cli_stores_a_secret_and_reads_it_back_in_a_second_invocation(tmp_path: Path) -> None:
    assert Path(CLI).is_file(), f"{CLI} not built: cargo build --release -p paramcrypt-cli"
    key_file, known = tmp_path / "key.pem", tmp_path / "known_devices"
    server = Server(key_file)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        options = ["--version", "1.1", "--psk-file", str(server.psk_file), "--known-devices", str(known)]
        return subprocess.run([CLI, "call", f"{server.url}/sony/appControl", *args, *options],
                              capture_output=True, text=True, timeout=60)

    try:
        stored = cli("setTextForm", "--secret", "text=a secret for the cli")
        assert stored.returncode == 0, stored.stderr
        assert json.loads(stored.stdout)["result"] == []
        assert "a secret for the cli" not in stored.stdout + stored.stderr
        read = cli("getTextForm", "--decrypt", "text")
        assert read.returncode == 0, read.stderr
        assert json.loads(read.stdout)["result"] == [{"text": "a secret for the cli"}]
        pinned = KnownDevices(known).get(server.url)
        assert pinned is not None and pinned.startswith("SHA256:")
    finally:
        server.stop()
    key_file.unlink()  # a new device key: the pin stops the CLI
    server = Server(key_file, server.port)
    try:
        refused = cli("setTextForm", "--secret", "text=another secret")
        assert refused.returncode != 0 and pinned in refused.stderr and "another secret" not in refused.stderr
        assert "result" not in refused.stdout
        repinned = cli("setTextForm", "--secret", "text=another secret", "--repin")
        assert repinned.returncode == 0, repinned.stderr
        assert KnownDevices(known).get(server.url) not in (None, pinned)
        error = subprocess.run([CLI, "call", f"{server.url}/sony/appControl", "noSuchMethod", "--psk-file",
                                str(server.psk_file), "--known-devices", str(known), "--secret", "x=y"],
                               capture_output=True, text=True, timeout=60)
        assert error.returncode != 0 and json.loads(error.stdout)["error"] == [12, "No Such Method"]
    finally:
        server.stop()


def test_the_http_transport_reads_no_more_than_the_client_takes() -> None:
    """A device (or a machine in the middle) answering 4 MiB: the transport
    reads one byte past its limit and fails, instead of reading it all."""
    import http.server
    import threading

    class Huge(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", str(4 << 20))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stops reading
                self.wfile.write(b"x" * (4 << 20))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Huge)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        transport = HttpTransport(f"http://127.0.0.1:{httpd.server_address[1]}", max_response_len=1024)
        with pytest.raises(TransportError, match="longer than 1024 bytes"):
            transport("encryption", "{}")
    finally:
        httpd.shutdown()
        httpd.server_close()
