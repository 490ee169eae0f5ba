"""Client: the protocol's client side as one object, over the library's
paramcrypt_client_* (re-keying, one retry after 40002, failure budget,
trust-on-first-use key pinning), with an HTTP transport on the standard
library and a known-devices file for the pins."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Callable, Union

from . import _ffi
from ._api import BytesLike, Mode, Padding, _as_enum, _Handle, _input, _key_sizes, _new_handle
from ._errors import BufferTooSmall, ParamcryptError, RpcError, TransportError

TransportFunction = Callable[[str, str], str]
"""Sends one JSON-RPC request (text) to a service of the device and returns
the response body (text); raises on failure."""


class HttpTransport:
    """POSTs each request to `{url}/sony/{service}` with the standard
    library, with the device's pre-shared key in the X-Auth-PSK header when
    given. `url` is the device's base URL (`http://HOST[:PORT]`). A response
    longer than `max_response_len` bytes is a transport failure, and no
    more of it is read."""

    def __init__(self, url: str, psk: str | None = None, timeout: float = 10.0,
                 max_response_len: int = 64 * 1024) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        self.url = url.rstrip("/")
        self._psk = psk
        self.timeout = timeout
        self.max_response_len = max_response_len

    def __call__(self, service: str, request: str) -> str:
        headers = {"Content-Type": "application/json"}
        if self._psk is not None:
            headers["X-Auth-PSK"] = self._psk
        # The scheme is http or https (checked in __init__), never file:.
        http_request = urllib.request.Request(  # noqa: S310
            f"{self.url}/sony/{service}", data=request.encode("utf-8"), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:  # noqa: S310
                body: bytes = response.read(self.max_response_len + 1)
        except urllib.error.HTTPError as err:
            body = err.read(self.max_response_len + 1)  # a JSON-RPC error may come with an HTTP error status
            if not body:
                raise
        if len(body) > self.max_response_len:
            # The device sizes the response: read no more than the client takes.
            raise TransportError(f"the response is longer than {self.max_response_len} bytes", 107)
        return body.decode("utf-8")

    def __repr__(self) -> str:
        return f"<HttpTransport {self.url}>"  # never the PSK


class KnownDevices:
    """The pinned public keys of devices, in a text file: one line per
    device, `URL SHA256:...`; `#` starts a comment. Written atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _entries(self) -> dict[str, str]:
        entries: dict[str, str] = {}
        with contextlib.suppress(FileNotFoundError):
            for line in self.path.read_text().splitlines():
                fields = line.split("#", 1)[0].split()
                if len(fields) == 2:
                    entries[fields[0]] = fields[1]
        return entries

    def get(self, device: str) -> str | None:
        """The pinned fingerprint of `device` (its URL), if any."""
        return self._entries().get(device)

    def set(self, device: str, fingerprint: str) -> None:
        """Pins `device` to `fingerprint`."""
        entries = self._entries()
        entries[device] = fingerprint
        self._write(entries)

    def remove(self, device: str) -> None:
        """Forgets the pin of `device`."""
        entries = self._entries()
        if entries.pop(device, None) is not None:
            self._write(entries)

    def _write(self, entries: Mapping[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "# paramcrypt known devices: URL and the SHA-256 fingerprint of its public key\n"
        text += "".join(f"{device} {fingerprint}\n" for device, fingerprint in sorted(entries.items()))
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


Secret = Union[str, BytesLike]


class Client(_Handle):
    """A client of one device: `call()` sends JSON-RPC requests through
    `transport` with its secret parameters encrypted and decrypts the
    result fields you name. The policy (see the README): a fresh common key
    per call (`reuse_calls` > 1 or `reuse_seconds` reuse one), one retry
    after 40002, at most `failure_budget` failures in
    `failure_window_seconds` (then FailureBudgetSpent until
    reset_failures()), and the device's public key pinned on first use
    (`pin` gives a stored fingerprint; a different key is PinMismatch and
    nothing secret is sent)."""

    _free = staticmethod(_ffi.client_free)
    _kind = "Client"

    def __init__(
        self,
        transport: TransportFunction,
        padding: Padding = Padding.PKCS1V15,
        mode: Mode = Mode.KEY_IV,
        reuse_calls: int = 1,
        reuse_seconds: int = 0,
        failure_budget: int = 3,
        failure_window_seconds: int = 600,
        allow_legacy_1024: bool = False,
        max_response_len: int = 64 * 1024,
        pin: str | None = None,
    ) -> None:
        if not callable(transport):
            raise TypeError(f"transport must be callable, not {type(transport).__name__}")
        config = _ffi.ClientConfigStruct()
        _ffi.client_config_init(ctypes.byref(config))
        config.padding = _as_enum(Padding, padding, "padding")
        config.mode = _as_enum(Mode, mode, "mode")
        config.key_sizes = _key_sizes(allow_legacy_1024)
        for name, value in (
            ("reuse_calls", reuse_calls),
            ("reuse_seconds", reuse_seconds),
            ("failure_budget", failure_budget),
            ("failure_window_seconds", failure_window_seconds),
            ("max_response_len", max_response_len),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be int, not {type(value).__name__}")
            if value < 0:
                raise ValueError(f"{name} must not be negative")
            setattr(config, name, value)
        self._transport = transport
        self._transport_error: BaseException | None = None
        self._callback = _ffi.TRANSPORT_CALLBACK(self._send)
        super().__init__(_new_handle(lambda out: _ffi.client_new(ctypes.byref(config), self._callback, None, out)))
        if pin is not None:
            self.pin(pin)

    @classmethod
    def http(
        cls,
        url: str,
        psk: str | None = None,
        known_devices: KnownDevices | str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> Client:
        """A client of the device at `url` (`http://HOST[:PORT]`) over
        HTTP. With `known_devices` (a file), the pin of `url` comes from it
        and a device's first key is written to it."""
        limit = options.get("max_response_len", 64 * 1024)
        client = cls(HttpTransport(url, psk, timeout, limit), **options)
        if known_devices is not None:
            devices = known_devices if isinstance(known_devices, KnownDevices) else KnownDevices(known_devices)
            client._known = (devices, url.rstrip("/"))
            pinned = devices.get(url.rstrip("/"))
            if pinned is not None:
                client.pin(pinned)
        return client

    _known: tuple[KnownDevices, str] | None = None

    def _send(self, user: Any, service: Any, service_len: int, request: Any, request_len: int,
              response: Any, response_cap: int, response_len: Any) -> int:
        try:
            answer = self._transport(
                ctypes.string_at(service, service_len).decode("utf-8"),
                ctypes.string_at(request, request_len).decode("utf-8"),
            ).encode("utf-8")
            if len(answer) > response_cap:
                raise TransportError(f"the response is longer than {response_cap} bytes", 107)
            ctypes.memmove(response, answer, len(answer))
            response_len[0] = len(answer)
            return 0
        except BaseException as exc:  # noqa: BLE001 - any failure is a transport failure
            self._transport_error = exc
            return 1

    @property
    def fingerprint(self) -> str | None:
        """The pinned fingerprint (given, or the device's first key's)."""
        text = self._export(_ffi.client_fingerprint).decode("ascii")
        return text or None

    def pin(self, fingerprint: str) -> None:
        """Pins the device's key to `fingerprint` (`SHA256:...`)."""
        with _input(fingerprint, "fingerprint") as (buf, n), self._lease() as ptr:
            _ffi.client_pin(ptr, buf, n)

    def repin(self) -> None:
        """Forgets the pin (also in the known-devices file): the next call
        pins whatever key the device presents. Only for a device whose key
        really changed."""
        with self._lease() as ptr:
            _ffi.client_repin(ptr)
        if self._known is not None:
            self._known[0].remove(self._known[1])

    def reset_failures(self) -> None:
        """Ends a spent failure budget: the application decided to go on."""
        with self._lease() as ptr:
            _ffi.client_reset_failures(ptr)

    def call(
        self,
        service: str,
        method: str,
        params: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Secret] | None = None,
        decrypt: Iterable[str] = (),
        version: str = "1.0",
    ) -> Any:
        """Calls `method` of `service` with the plain `params` and the
        `secrets` (sent encrypted, with encKey), and returns the result
        (parsed JSON) with the fields named in `decrypt` decrypted to str.

        Raises EncryptionFailed (40002, also after starting over),
        FailureBudgetSpent, PinMismatch, TransportError, RpcError (another
        JSON-RPC error), BadResponse."""
        plain = json.dumps(dict(params or {})).encode("utf-8")
        secret_items = list((secrets or {}).items())
        names = list(decrypt)
        with contextlib.ExitStack() as stack:
            lists = []
            for items in (secret_items, [(name, b"") for name in names]):
                array = (_ffi.ParamStruct * max(len(items), 1))()
                for i, (name, value) in enumerate(items):
                    name_buf, name_len = stack.enter_context(_input(name, "name"))
                    value_buf, value_len = stack.enter_context(_input(value, "secret"))
                    array[i] = _ffi.ParamStruct(
                        ctypes.cast(name_buf, _ffi.c_uint8_p),
                        name_len,
                        ctypes.cast(value_buf, _ffi.c_uint8_p),
                        value_len,
                    )
                lists.append((array, len(items)))
            texts = [stack.enter_context(_input(text, "text")) for text in (service, method, version, plain)]
            ptr = stack.enter_context(self._lease())
            self._transport_error = None
            out_len = ctypes.c_size_t(0)
            try:
                _ffi.client_call(
                    ptr, *texts[0], *texts[1], *texts[2], *texts[3], lists[0][0], lists[0][1], lists[1][0],
                    lists[1][1], None, 0, ctypes.byref(out_len)
                )
            except BufferTooSmall:
                pass
            except ParamcryptError as err:
                raise self._detailed(ptr, err) from self._transport_error
            result = _result(ptr, out_len.value)
        self._remember_pin()
        return json.loads(result) if result else None

    def _detailed(self, ptr: Any, err: ParamcryptError) -> ParamcryptError:
        """The error with the library's message for the call (no secret)."""
        message = _error_message(ptr)
        if self._transport_error is not None:
            message = f"{message}: {self._transport_error}"
        detailed = type(err)(message or str(err), err.code)
        if isinstance(detailed, RpcError):
            match = re.search(r"\[(-?\d+), \"(.*)\"\]$", message)
            if match:
                detailed.error_code = int(match.group(1))
                detailed.error_message = match.group(2)
        return detailed

    def _remember_pin(self) -> None:
        if self._known is None:
            return
        devices, device = self._known
        fingerprint = self.fingerprint
        if fingerprint is not None and devices.get(device) != fingerprint:
            devices.set(device, fingerprint)

    def __repr__(self) -> str:
        return "<Client closed>" if getattr(self, "_closed", True) else "<Client>"


def _result(ptr: Any, size: int) -> str:
    buf = (ctypes.c_uint8 * max(size, 1))()
    out_len = ctypes.c_size_t(0)
    try:
        _ffi.client_result(ptr, buf, size, ctypes.byref(out_len))
        return bytes(buf[: out_len.value]).decode("utf-8")
    finally:
        ctypes.memset(buf, 0, len(buf))  # decrypted fields


def _error_message(ptr: Any) -> str:
    out_len = ctypes.c_size_t(0)
    _ffi.client_error_message(ptr, None, 0, ctypes.byref(out_len))
    buf = (ctypes.c_uint8 * max(out_len.value, 1))()
    _ffi.client_error_message(ptr, buf, out_len.value, ctypes.byref(out_len))
    return bytes(buf[: out_len.value]).decode("utf-8", "replace")
