"""KeyPair, PublicKey, Session, Server and ServerSession: Pythonic handles
over the C API, and the server's FailurePolicy, ServerStats and ServerEvent.

Handle lifetimes: every call holds a lease on the handles it passes to C
(ctypes releases the GIL during the call). close() marks a handle closed;
the C object is freed when the last lease ends, so closing a handle that
another thread is using is safe: that call finishes, later calls raise
ValueError.

Secrets and Python: the bindings wipe every C buffer they make for secret
data, and accept bytearray and writable memoryview secrets without copying
them. What Python cannot wipe: str objects, bytes objects (immutable; the
values decrypt() returns are bytes), and copies the interpreter made before
they reached paramcrypt. For plaintexts you must wipe, pass bytearrays and
decrypt with decrypt_into(value, out_bytearray), then zero the bytearray.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import enum
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, TypeVar, Union

from . import _ffi
from ._errors import BufferTooSmall, RngError, Status

BytesLike = Union[bytes, bytearray, memoryview]
ClockFunction = Callable[[], float]
"""A monotonic clock in seconds, such as time.monotonic; it must not raise."""
RngFunction = Callable[[int], bytes]
"""A random number generator: called with a length n, returns n random
bytes. Raising an exception fails the operation with RngError."""
T = TypeVar("T")
H = TypeVar("H", bound="_Handle")
if TYPE_CHECKING:
    CBuffer = ctypes.Array[ctypes.c_uint8]


class Padding(enum.IntEnum):
    """The RSA scheme that wraps the common key. A server is configured for
    one and never tries several."""

    PKCS1V15 = 0
    """RSAES-PKCS1-v1_5, what deployed devices use (the default)."""
    OAEP_SHA1 = 1
    """RSAES-OAEP with SHA-1/MGF1-SHA-1 (Java's OAEPWithSHA-1AndMGF1Padding)."""
    OAEP_SHA256 = 2
    """RSAES-OAEP with SHA-256/MGF1-SHA-256."""


class Mode(enum.IntEnum):
    """How secret parameters get their IV."""

    KEY_IV = 0
    """encKey carries hex(key):hex(iv); every parameter uses that IV (the default)."""
    PER_MESSAGE_IV = 1
    """encKey carries the raw key; every parameter is base64(IV || ciphertext)."""


class _KeySizes(enum.IntEnum):
    """paramcrypt_key_sizes: which key sizes a loader accepts."""

    MODERN = 0
    ALLOW_LEGACY_1024 = 1


def _key_sizes(allow_legacy_1024: bool) -> int:
    if not isinstance(allow_legacy_1024, bool):
        raise TypeError("allow_legacy_1024 must be a bool")
    return int(_KeySizes.ALLOW_LEGACY_1024 if allow_legacy_1024 else _KeySizes.MODERN)


class AcceptedModes(enum.IntEnum):
    """The encKey modes a Server accepts."""

    KEY_IV = 0
    """Only Mode.KEY_IV, what deployed clients send (the default)."""
    PER_MESSAGE_IV = 1
    """Only Mode.PER_MESSAGE_IV."""
    BOTH = 2
    """Both, told apart by the plaintext length."""


# ---- Input and output buffers ----


@contextlib.contextmanager
def _input(
    value: str | BytesLike, what: str, text: bool = True, wire: bool = False
) -> Iterator[tuple[CBuffer, int]]:
    """A C input buffer for `value` and its length. bytes, a bytearray and a
    writable memoryview are used in place (no copy); a read-only view is
    copied into a C buffer that is wiped afterwards. str (when `text`) is
    UTF-8. A `wire` value (what a peer sent: an encKey, a parameter value, a
    peer identity) may hold lone surrogates (JSON's "\\ud800" decodes to
    one): they pass as their bytes, which the library refuses like any other
    malformed value (40002), instead of raising UnicodeEncodeError."""
    if isinstance(value, str) and text:
        data: BytesLike = value.encode("utf-8", "surrogatepass" if wire else "strict")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = value
    else:
        kinds = "str or bytes" if text else "bytes"
        raise TypeError(f"{what} must be {kinds}, not {type(value).__name__}")
    if isinstance(data, bytes) and data:
        # Immutable: C reads it where it is, without a copy (c_char_p keeps
        # a reference to the object, not a copy of it).
        pointer = ctypes.c_char_p(data)
        yield ctypes.cast(pointer, ctypes.POINTER(ctypes.c_uint8)), len(data)  # type: ignore[misc]
        return
    view = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
    length = view.nbytes
    if not view.readonly and view.c_contiguous and length > 0:
        yield (ctypes.c_uint8 * length).from_buffer(view), length
        return
    buf = (ctypes.c_uint8 * max(length, 1))()
    # A read-only view needs one copy (wiped afterwards).
    ctypes.memmove(buf, view.tobytes(), length)
    try:
        yield buf, length
    finally:
        ctypes.memset(buf, 0, len(buf))


def _as_enum(enum_type: type, value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a {enum_type.__name__}, not {type(value).__name__}")
    return int(enum_type(value))  # ValueError for an unknown value


def _output(call: Callable[..., int], size: int, secret: bool = False) -> bytes:
    """Runs `call(out, out_cap, out_len)` with a buffer of `size` bytes and
    returns what it wrote; a secret buffer is wiped after copying."""
    buf = (ctypes.c_uint8 * max(size, 1))()
    out_len = ctypes.c_size_t(0)
    try:
        call(buf, size, ctypes.byref(out_len))
        # One copy into the bytes object (slicing the array would build a
        # list of ints first: 10 times the memory, left unwiped).
        return ctypes.string_at(buf, out_len.value)
    finally:
        if secret:
            ctypes.memset(buf, 0, len(buf))


def _output_into(call: Callable[..., int], out: bytearray | memoryview) -> int:
    """Runs `call(out, out_cap, out_len)` writing straight into the caller's
    writable buffer; returns the length written."""
    view = memoryview(out).cast("B") if isinstance(out, memoryview) else memoryview(out)
    if view.readonly or not view.c_contiguous:
        raise TypeError("out must be a writable, contiguous buffer (a bytearray)")
    cap = view.nbytes
    buf = (ctypes.c_uint8 * max(cap, 1)).from_buffer(view) if cap else (ctypes.c_uint8 * 1)()
    out_len = ctypes.c_size_t(0)
    try:
        call(buf, cap, ctypes.byref(out_len))
    except BufferTooSmall:
        raise ValueError(f"out holds {cap} bytes; {out_len.value} are needed") from None
    return out_len.value


def _size_query(call: Callable[..., int]) -> int:
    """The output size a function needs (called with out_cap 0)."""
    out_len = ctypes.c_size_t(0)
    try:
        call(None, 0, ctypes.byref(out_len))
    except BufferTooSmall:
        return out_len.value
    return out_len.value


# ---- Randomness ----


class _RngCallback:
    """A Python RNG as the C callback; keeps what went wrong in it."""

    def __init__(self, rng: RngFunction) -> None:
        if not callable(rng):
            raise TypeError(f"rng must be callable, not {type(rng).__name__}")
        self.error: BaseException | None = None

        def fill(user: Any, buf: Any, length: int) -> int:
            try:
                data = rng(length)
                if not isinstance(data, (bytes, bytearray)) or len(data) != length:
                    raise RngError(f"rng({length}) must return {length} bytes", int(Status.RNG))
                ctypes.memmove(buf, bytes(data), length)
                return 0
            except BaseException as exc:  # noqa: BLE001 - any failure is an RNG failure
                self.error = exc
                return -1

        self.c_function = _ffi.RNG_CALLBACK(fill)


def _with_rng(rng: RngFunction | None, plain: Callable[[], T], with_rng: Callable[[Any], T]) -> T:
    """Runs `plain()` (the OS RNG) or, with `rng`, `with_rng(callback)`; an
    exception raised by `rng` becomes the cause of the RngError."""
    if rng is None:
        return plain()
    callback = _RngCallback(rng)
    try:
        return with_rng(callback.c_function)
    except RngError as err:
        if callback.error is not None and callback.error is not err:
            raise RngError(f"the rng failed: {callback.error!r}", err.code) from callback.error
        raise


# ---- Handles ----


class _Handle:
    """Owns one C handle; released by close(), the context manager, or on
    garbage collection, and only once no call is using it (see the module
    documentation)."""

    _free: Callable[[ctypes.c_void_p], None]
    _kind = "handle"

    def __init__(self, ptr: ctypes.c_void_p) -> None:
        self._ptr: ctypes.c_void_p | None = ptr
        self._lock = threading.Lock()
        self._leases = 0
        self._closed = False

    @contextlib.contextmanager
    def _lease(self) -> Iterator[ctypes.c_void_p]:
        """The C handle, held for the duration of a call."""
        with self._lock:
            if self._closed or self._ptr is None:
                raise ValueError(f"this {self._kind} is closed")
            self._leases += 1
            ptr = self._ptr
        try:
            yield ptr
        finally:
            with self._lock:
                self._leases -= 1
                freed = self._take_if_done()
            self._free_now(freed)

    def _take_if_done(self) -> ctypes.c_void_p | None:
        """The pointer to free when closed and unused (with the lock held)."""
        if self._closed and self._leases == 0 and self._ptr is not None:
            ptr, self._ptr = self._ptr, None
            return ptr
        return None

    def _free_now(self, ptr: ctypes.c_void_p | None) -> None:
        if ptr is not None:
            type(self)._free(ptr)

    def _export(self, fn: Callable[..., int], secret: bool = False) -> bytes:
        """The output of `fn(handle, out, out_cap, out_len)`, sized by a query."""
        with self._lease() as ptr:
            size = _size_query(lambda *out: fn(ptr, *out))
            return _output(lambda *out: fn(ptr, *out), size, secret=secret)

    def close(self) -> None:
        """Releases the C handle (wiping its secrets) as soon as no call is
        using it. Idempotent and thread-safe."""
        with self._lock:
            self._closed = True
            freed = self._take_if_done()
        self._free_now(freed)

    def __enter__(self: H) -> H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # At interpreter shutdown the library may already be gone.
        with contextlib.suppress(Exception):
            self.close()


def _new_handle(create: Callable[[Any], int]) -> ctypes.c_void_p:
    """A new handle from `create(&out)`."""
    out = ctypes.c_void_p()
    create(ctypes.byref(out))
    return out


class PublicKey(_Handle):
    """An RSA public key: what getPublicKey returns, what clients wrap to."""

    _free = staticmethod(_ffi.public_key_free)
    _kind = "PublicKey"

    @classmethod
    def from_base64(cls, text: str | BytesLike, allow_legacy_1024: bool = False) -> PublicKey:
        """Parses the getPublicKey value (base64 DER SubjectPublicKeyInfo) of
        a 2048- to 4096-bit key; allow_legacy_1024=True is the explicit opt-in
        for a legacy device's 1024-bit key."""
        sizes = _key_sizes(allow_legacy_1024)
        with _input(text, "text") as (buf, n):
            return cls(_new_handle(lambda out: _ffi.public_key_from_base64_with_sizes(buf, n, sizes, out)))

    @classmethod
    def from_pem(cls, pem: str | BytesLike, allow_legacy_1024: bool = False) -> PublicKey:
        """Parses a PEM public key (BEGIN PUBLIC KEY); see from_base64."""
        sizes = _key_sizes(allow_legacy_1024)
        with _input(pem, "pem") as (buf, n):
            return cls(_new_handle(lambda out: _ffi.public_key_from_pem_with_sizes(buf, n, sizes, out)))

    @classmethod
    def from_der(cls, der: BytesLike, allow_legacy_1024: bool = False) -> PublicKey:
        """Parses a DER SubjectPublicKeyInfo; see from_base64."""
        sizes = _key_sizes(allow_legacy_1024)
        with _input(der, "der", text=False) as (buf, n):
            return cls(_new_handle(lambda out: _ffi.public_key_from_der_with_sizes(buf, n, sizes, out)))

    @classmethod
    def from_published(cls, text: str | BytesLike, allow_legacy_1024: bool = False) -> PublicKey:
        """Any form devices and their documentation publish: base64 DER
        SPKI (the getPublicKey value), PEM (SPKI or PKCS#1), base64 DER
        PKCS#1, or the OpenSSH `ssh-rsa` wire form (with or without its
        `ssh-rsa ` prefix). Raises InvalidKey."""
        sizes = _key_sizes(allow_legacy_1024)
        with _input(text, "text") as (buf, n):
            return cls(_new_handle(lambda out: _ffi.public_key_from_published_with_sizes(buf, n, sizes, out)))

    @property
    def fingerprint(self) -> str:
        """`SHA256:` and the unpadded base64 of the SHA-256 digest of the DER
        SPKI: what a client pins."""
        return self._export(_ffi.public_key_fingerprint).decode("ascii")

    def to_base64(self) -> str:
        """The getPublicKey value: base64 of the DER SubjectPublicKeyInfo."""
        return self._export(_ffi.public_key_to_base64).decode("ascii")

    def to_pem(self) -> str:
        """PEM (BEGIN PUBLIC KEY)."""
        return self._export(_ffi.public_key_to_pem).decode("ascii")

    def to_der(self) -> bytes:
        """DER SubjectPublicKeyInfo."""
        return self._export(_ffi.public_key_to_der)

    @property
    def bits(self) -> int:
        """The modulus size in bits."""
        with self._lease() as ptr:
            return int(_ffi.public_key_bits(ptr))

    @property
    def wrapped_len(self) -> int:
        """The length of an encKey wrapped for this key."""
        with self._lease() as ptr:
            return int(_ffi.public_key_wrapped_len(ptr))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.to_der() == other.to_der()

    def __hash__(self) -> int:
        return hash(self.to_der())

    def __repr__(self) -> str:
        return f"<PublicKey {self.bits} bits>" if not self._closed else "<PublicKey closed>"


class Session(_Handle):
    """A common key (AES-128 key, IV, mode). Immutable and thread-safe; the
    key and IV are wiped when it is closed or collected."""

    _free = staticmethod(_ffi.session_free)
    _kind = "Session"

    @classmethod
    def new(cls, mode: Mode = Mode.KEY_IV, rng: RngFunction | None = None) -> Session:
        """Client side: a fresh random key and IV from the OS RNG, or `rng`."""
        mode_value = _as_enum(Mode, mode, "mode")
        return cls(
            _with_rng(
                rng,
                lambda: _new_handle(lambda out: _ffi.session_new(mode_value, out)),
                lambda cb: _new_handle(lambda out: _ffi.session_new_with_rng(mode_value, cb, None, out)),
            )
        )

    @property
    def mode(self) -> Mode:
        """The IV mode (detected from the encKey on the server side)."""
        value = ctypes.c_uint32()
        with self._lease() as ptr:
            _ffi.session_mode(ptr, ctypes.byref(value))
        return Mode(value.value)

    def wrap(
        self, public_key: PublicKey, padding: Padding = Padding.PKCS1V15, rng: RngFunction | None = None
    ) -> str:
        """Client side: the base64 encKey of this session for `public_key`."""
        if not isinstance(public_key, PublicKey):
            raise TypeError(f"public_key must be a PublicKey, not {type(public_key).__name__}")
        padding_value = _as_enum(Padding, padding, "padding")
        size = public_key.wrapped_len
        with self._lease() as ptr, public_key._lease() as pk:
            return _with_rng(
                rng,
                lambda: _output(lambda *out: _ffi.session_wrap(ptr, pk, padding_value, *out), size),
                lambda cb: _output(
                    lambda *out: _ffi.session_wrap_with_rng(ptr, pk, padding_value, cb, None, *out), size
                ),
            ).decode("ascii")

    def encrypt(self, plaintext: str | BytesLike, rng: RngFunction | None = None) -> str:
        """Encrypts a secret parameter (str as UTF-8, or bytes; a bytearray
        is read in place) to its base64 wire value. `rng` makes the
        per-message IV (unused in key:iv mode)."""
        size_mode = self.mode
        with _input(plaintext, "plaintext") as (buf, n), self._lease() as ptr:
            size = int(_ffi.encrypted_len(size_mode, n))
            return _with_rng(
                rng,
                lambda: _output(lambda *out: _ffi.session_encrypt(ptr, buf, n, *out), size),
                lambda cb: _output(lambda *out: _ffi.session_encrypt_with_rng(ptr, buf, n, cb, None, *out), size),
            ).decode("ascii")

    def decrypt(self, value: str | BytesLike) -> bytes:
        """Decrypts a secret parameter's base64 wire value. Raises
        EncryptionFailed for anything wrong with it. The result is bytes,
        which Python cannot wipe: see decrypt_into."""
        with _input(value, "value", wire=True) as (buf, n), self._lease() as ptr:
            size = int(_ffi.decrypted_max_len(n))
            return _output(lambda *out: _ffi.session_decrypt(ptr, buf, n, *out), size, secret=True)

    def decrypt_into(self, value: str | BytesLike, out: bytearray | memoryview) -> int:
        """Decrypts into the caller's writable buffer (which the caller can
        wipe) and returns the plaintext length. `out` needs
        decrypted_max_len(len(value)) bytes at most; ValueError says how many
        when it is too small."""
        with _input(value, "value", wire=True) as (buf, n), self._lease() as ptr:
            return _output_into(lambda *o: _ffi.session_decrypt(ptr, buf, n, *o), out)

    def __repr__(self) -> str:
        return f"<Session {self.mode.name}>" if not self._closed else "<Session closed>"


def decrypted_max_len(text_len: int) -> int:
    """A buffer size always large enough for the plaintext of a
    `text_len`-character wire value."""
    return int(_ffi.decrypted_max_len(text_len))


class KeyPair(_Handle):
    """The server's RSA key pair. Immutable and thread-safe: share one
    between request threads. The private key is wiped when it is closed."""

    _free = staticmethod(_ffi.keypair_free)
    _kind = "KeyPair"

    @classmethod
    def generate(cls, bits: int = 2048, rng: RngFunction | None = None) -> KeyPair:
        """Generates a key pair of 2048, 3072 or 4096 bits (OS RNG, or `rng`).
        Slow on small CPUs: generate once, store with to_pem()."""
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise TypeError(f"bits must be int, not {type(bits).__name__}")
        if bits < 0:
            raise ValueError("bits must not be negative")
        return cls(
            _with_rng(
                rng,
                lambda: _new_handle(lambda out: _ffi.keypair_generate(bits, out)),
                lambda cb: _new_handle(lambda out: _ffi.keypair_generate_with_rng(bits, cb, None, out)),
            )
        )

    @classmethod
    def from_pem(cls, pem: str | BytesLike, allow_legacy_1024: bool = False) -> KeyPair:
        """Loads a PKCS#8 (BEGIN PRIVATE KEY) or PKCS#1 (BEGIN RSA PRIVATE
        KEY) PEM private key of 2048 to 4096 bits; allow_legacy_1024=True is
        the explicit opt-in for a legacy device's 1024-bit key."""
        sizes = _key_sizes(allow_legacy_1024)
        with _input(pem, "pem") as (buf, n):
            return cls(_new_handle(lambda out: _ffi.keypair_from_pem_with_sizes(buf, n, sizes, out)))

    @classmethod
    def from_der(cls, der: BytesLike, allow_legacy_1024: bool = False) -> KeyPair:
        """Loads an unencrypted PKCS#8 DER private key; see from_pem."""
        sizes = _key_sizes(allow_legacy_1024)
        with _input(der, "der", text=False) as (buf, n):
            return cls(_new_handle(lambda out: _ffi.keypair_from_pkcs8_der_with_sizes(buf, n, sizes, out)))

    def to_pem(self) -> str:
        """The private key as PKCS#8 PEM. Secret: store it with mode 0600."""
        return self._export(_ffi.keypair_to_pkcs8_pem, secret=True).decode("ascii")

    def to_der(self) -> bytes:
        """The private key as PKCS#8 DER. Secret."""
        return self._export(_ffi.keypair_to_pkcs8_der, secret=True)

    @property
    def bits(self) -> int:
        """The modulus size in bits."""
        with self._lease() as ptr:
            return int(_ffi.keypair_bits(ptr))

    def public_key(self) -> PublicKey:
        """The public half."""
        with self._lease() as ptr:
            return PublicKey(_new_handle(lambda out: _ffi.keypair_public_key(ptr, out)))

    def public_key_base64(self) -> str:
        """The getPublicKey value."""
        with self.public_key() as public_key:
            return public_key.to_base64()

    def unwrap(
        self, enc_key: str | BytesLike, padding: Padding = Padding.PKCS1V15, rng: RngFunction | None = None
    ) -> Session:
        """The client's session from its encKey, without a Server's cache and
        refusal (clients, tests and tools; servers use Server.open). `rng`
        blinds the RSA operation. Raises EncryptionFailed for any bad encKey."""
        padding_value = _as_enum(Padding, padding, "padding")
        with _input(enc_key, "enc_key", wire=True) as (buf, n), self._lease() as ptr:
            return Session(
                _with_rng(
                    rng,
                    lambda: _new_handle(lambda out: _ffi.keypair_unwrap(ptr, buf, n, padding_value, out)),
                    lambda cb: _new_handle(
                        lambda out: _ffi.keypair_unwrap_with_rng(ptr, buf, n, padding_value, cb, None, out)
                    ),
                )
            )

    def __repr__(self) -> str:
        return f"<KeyPair {self.bits} bits>" if not self._closed else "<KeyPair closed>"


class ServerSession(_Handle):
    """A client's common key as a Server holds it, from Server.open(). A
    decryption that fails counts against the key, the peer and the server
    (see FailurePolicy): while the key is refused, or the peer or server in
    lockdown, every call raises EncryptionFailed."""

    _free = staticmethod(_ffi.server_session_free)
    _kind = "ServerSession"

    def __init__(self, ptr: ctypes.c_void_p, server: Server | None = None) -> None:
        super().__init__(ptr)
        # The C session may call the server's clock and event callbacks:
        # they must live as long as it does.
        self._callbacks = server._callbacks if server is not None else ()

    @property
    def mode(self) -> Mode:
        """The client's IV mode."""
        value = ctypes.c_uint32()
        with self._lease() as ptr:
            _ffi.server_session_mode(ptr, ctypes.byref(value))
        return Mode(value.value)

    @property
    def key_id(self) -> int:
        """An identifier of the client's common key (a keyed digest): equal for
        every session with the same key. Use it to keep per-client state."""
        with self._lease() as ptr:
            return int(_ffi.server_session_key_id(ptr))

    def decrypt(self, value: str | BytesLike) -> bytes:
        """Decrypts a secret parameter of the request. Raises EncryptionFailed
        for anything wrong with it, and from then on for this common key."""
        with _input(value, "value", wire=True) as (buf, n), self._lease() as ptr:
            size = int(_ffi.decrypted_max_len(n))
            return _output(lambda *out: _ffi.server_session_decrypt(ptr, buf, n, *out), size, secret=True)

    def decrypt_into(self, value: str | BytesLike, out: bytearray | memoryview) -> int:
        """Decrypts into the caller's writable buffer and returns the length
        (see Session.decrypt_into)."""
        with _input(value, "value", wire=True) as (buf, n), self._lease() as ptr:
            return _output_into(lambda *o: _ffi.server_session_decrypt(ptr, buf, n, *o), out)

    def decrypt_text(self, value: str | BytesLike) -> str:
        """Decrypts a secret parameter that must be UTF-8 text (the
        protocol's string parameters). A value that is not UTF-8 raises
        EncryptionFailed and counts as a failure, like a bad padding:
        answering it differently would be an oracle. (The returned str
        cannot be wiped; use decrypt_into for plaintexts you must wipe.)"""
        with _input(value, "value", wire=True) as (buf, n), self._lease() as ptr:
            size = int(_ffi.decrypted_max_len(n))
            data = _output(lambda *out: _ffi.server_session_decrypt_text(ptr, buf, n, *out), size, secret=True)
        return data.decode("utf-8")

    def report_failure(self) -> None:
        """Reports that a value decrypted in this session was unacceptable
        to the application (malformed, a setting it rejects): it counts as a
        failure of this common key and peer, like a bad padding. Answer that
        request with 40002 too: answering a bad decrypted value differently
        from a good one re-creates the padding oracle unless it counts."""
        with self._lease() as ptr:
            _ffi.server_session_report_failure(ptr)

    def encrypt(self, plaintext: str | BytesLike, rng: RngFunction | None = None) -> str:
        """Encrypts a reply value (str as UTF-8, or bytes) under the client's
        common key. Raises EncryptionFailed while the key is refused or the
        peer or server is in lockdown."""
        size_mode = self.mode
        with _input(plaintext, "plaintext") as (buf, n), self._lease() as ptr:
            size = int(_ffi.encrypted_len(size_mode, n))
            return _with_rng(
                rng,
                lambda: _output(lambda *out: _ffi.server_session_encrypt(ptr, buf, n, *out), size),
                lambda cb: _output(
                    lambda *out: _ffi.server_session_encrypt_with_rng(ptr, buf, n, cb, None, *out), size
                ),
            ).decode("ascii")

    def __repr__(self) -> str:
        return f"<ServerSession {self.mode.name}>" if not self._closed else "<ServerSession closed>"


class ServerEventKind(enum.IntEnum):
    """paramcrypt_server_event_kind: what a lockdown event reports."""

    PEER_LOCKDOWN_STARTED = 1
    """A peer went into lockdown: a possible attack from that peer."""
    PEER_LOCKDOWN_ENDED = 2
    """A peer's lockdown is over (reported at its next request)."""
    SERVER_LOCKDOWN_STARTED = 3
    """The whole server went into lockdown (failures from many peers)."""
    SERVER_LOCKDOWN_ENDED = 4
    """The server-wide lockdown is over (reported at the next request)."""


@dataclasses.dataclass(frozen=True)
class ServerEvent:
    """A lockdown starting or ending. Carries no key, secret or digest."""

    kind: ServerEventKind
    peer: bytes
    """The peer whose request started (or first saw the end of) it."""
    seconds: int
    """The lockdown's length (0 for an end)."""


_LOG = logging.getLogger("paramcrypt")


def log_server_event(event: ServerEvent) -> None:
    """The default event hook: a warning on the "paramcrypt" logger when a
    lockdown starts (a possible attack), info when it ends."""
    peer = event.peer.decode("utf-8", "replace")
    if event.kind in (ServerEventKind.PEER_LOCKDOWN_STARTED, ServerEventKind.SERVER_LOCKDOWN_STARTED):
        _LOG.warning("%s (peer %s, %d s): repeated decryption failures, a possible attack",
                     event.kind.name.lower(), peer, event.seconds)
    else:
        _LOG.info("%s (peer %s)", event.kind.name.lower(), peer)


@dataclasses.dataclass(frozen=True)
class FailurePolicy:
    """The limits a Server applies to decryption failures (see the README).
    A limit of 0 switches it off. Start from FailurePolicy.server() or
    .firmware() (the library's defaults) and change fields with
    dataclasses.replace().

    - Per common key: after its n-th failure the key is refused for
      key_refusal_seconds * 2**(n-1) seconds, for good after
      key_failure_budget failures.
    - Per peer and server-wide: *_failure_limit failures within
      *_window_seconds start a lockdown (every answer 40002, no RSA work,
      no decryption), lockdown_seconds long, doubling up to
      lockdown_max_seconds.
    - At most unwrap_limit RSA unwraps per unwrap_window_seconds."""

    key_refusal_seconds: int
    key_failure_budget: int
    peer_failure_limit: int
    peer_window_seconds: int
    server_failure_limit: int
    server_window_seconds: int
    lockdown_seconds: int
    lockdown_max_seconds: int
    unwrap_limit: int
    unwrap_window_seconds: int

    @classmethod
    def server(cls) -> FailurePolicy:
        """The library's server default."""
        return cls._of(_default_config(_SETTING_SERVER).policy)

    @classmethod
    def firmware(cls) -> FailurePolicy:
        """The library's firmware default (adds an unwrap limit)."""
        return cls._of(_default_config(_SETTING_FIRMWARE).policy)

    @classmethod
    def _of(cls, c_policy: _ffi.FailurePolicyStruct) -> FailurePolicy:
        return cls(**{f.name: int(getattr(c_policy, f.name)) for f in dataclasses.fields(cls)})

    def _to_c(self) -> _ffi.FailurePolicyStruct:
        values = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{field.name} must be int, not {type(value).__name__}")
            if not 0 <= value < 2**32:
                raise ValueError(f"{field.name} must be between 0 and 2**32 - 1")
            values[field.name] = value
        return _ffi.FailurePolicyStruct(**values)


@dataclasses.dataclass(frozen=True)
class ServerStats:
    """What a server has done, and the state of its failure policy."""

    cache_hits: int
    unwraps: int
    failures: int
    """Decryption failures, and failures the application reported."""
    refused: int
    """Opens and decryptions answered 40002 because their key was refused."""
    keys_refused_for_good: int
    lockdown_answers: int
    peer_lockdowns: int
    server_lockdowns: int
    unwraps_limited: int
    cached_sessions: int
    remembered_keys: int
    remembered_peers: int
    server_lockdown_seconds: int


_SETTING_SERVER = 0
_SETTING_FIRMWARE = 1


def _default_config(setting: int) -> _ffi.ServerConfigStruct:
    config = _ffi.ServerConfigStruct()
    _ffi.server_config_init(setting, ctypes.byref(config))
    return config


def _clock_callback(clock: ClockFunction) -> Any:
    if not callable(clock):
        raise TypeError(f"clock must be callable, not {type(clock).__name__}")

    def now_ms(user: Any) -> int:
        return max(0, int(clock() * 1000))

    return _ffi.CLOCK_CALLBACK(now_ms)


def _event_callback(hook: Callable[[ServerEvent], None]) -> Any:
    if not callable(hook):
        raise TypeError(f"on_event must be callable, not {type(hook).__name__}")

    def report(user: Any, event: Any) -> None:
        c_event = event.contents
        peer = ctypes.string_at(c_event.peer, c_event.peer_len) if c_event.peer_len else b""
        try:
            hook(ServerEvent(ServerEventKind(c_event.kind), peer, int(c_event.seconds)))
        except Exception:  # noqa: BLE001 - a failing hook must not break the request
            _LOG.exception("the paramcrypt server event hook raised")

    return _ffi.EVENT_CALLBACK(report)


class Server(_Handle):
    """A server: a copy of the key pair, its configuration, a cache of opened
    encKeys (no RSA work when a client reuses its encKey) and the failure
    policy, which keeps the server's answers from serving as a padding
    oracle: a decryption failure refuses the common key for a while (for
    good after a budget) and counts against the peer that sent it and the
    whole server, which go into lockdown past their limits. Thread-safe:
    share one between request threads.

    Every argument but the key pair has the library's server default:
    capacities (cache_capacity 0 disables the cache), `policy`
    (FailurePolicy.server()), `clock` (None: the library's monotonic clock;
    tests pass a fake one, in seconds), `on_event` (lockdown events; the
    default logs them on the "paramcrypt" logger), `state` (a blob saved by
    export_state() of a server with the same key pair; InvalidState when it
    is corrupted or foreign) and `rng` (the OS RNG; makes the digest key)."""

    _free = staticmethod(_ffi.server_free)
    _kind = "Server"

    def __init__(
        self,
        key_pair: KeyPair,
        padding: Padding = Padding.PKCS1V15,
        modes: AcceptedModes = AcceptedModes.KEY_IV,
        cache_capacity: int | None = None,
        refusal_capacity: int | None = None,
        peer_capacity: int | None = None,
        policy: FailurePolicy | None = None,
        clock: ClockFunction | None = None,
        on_event: Callable[[ServerEvent], None] | None = log_server_event,
        state: BytesLike | None = None,
        rng: RngFunction | None = None,
    ) -> None:
        if not isinstance(key_pair, KeyPair):
            raise TypeError(f"key_pair must be a KeyPair, not {type(key_pair).__name__}")
        config = _default_config(_SETTING_SERVER)
        config.padding = _as_enum(Padding, padding, "padding")
        config.modes = _as_enum(AcceptedModes, modes, "modes")
        for name, capacity in (
            ("cache_capacity", cache_capacity),
            ("refusal_capacity", refusal_capacity),
            ("peer_capacity", peer_capacity),
        ):
            if capacity is None:
                continue
            if isinstance(capacity, bool) or not isinstance(capacity, int):
                raise TypeError(f"{name} must be int, not {type(capacity).__name__}")
            if capacity < 0:
                raise ValueError(f"{name} must not be negative")
            setattr(config, name, capacity)
        if policy is not None:
            if not isinstance(policy, FailurePolicy):
                raise TypeError(f"policy must be a FailurePolicy, not {type(policy).__name__}")
            config.policy = policy._to_c()
        callbacks: list[Any] = []
        if clock is not None:
            config.clock = _clock_callback(clock)
            callbacks.append(config.clock)
        if on_event is not None:
            config.on_event = _event_callback(on_event)
            callbacks.append(config.on_event)
        self._callbacks = tuple(callbacks)
        with contextlib.ExitStack() as stack:
            if state is not None:
                buf, n = stack.enter_context(_input(state, "state", text=False))
                config.state = ctypes.cast(buf, _ffi.c_uint8_p)
                config.state_len = n
            with key_pair._lease() as kp:
                ptr = _with_rng(
                    rng,
                    lambda: _new_handle(lambda out: _ffi.server_new(kp, ctypes.byref(config), out)),
                    lambda cb: _new_handle(
                        lambda out: _ffi.server_new_with_rng(kp, ctypes.byref(config), cb, None, out)
                    ),
                )
        super().__init__(ptr)

    def public_key(self) -> PublicKey:
        """The server's public key."""
        with self._lease() as ptr:
            return PublicKey(_new_handle(lambda out: _ffi.server_public_key(ptr, out)))

    def public_key_base64(self) -> str:
        """The getPublicKey value."""
        with self.public_key() as public_key:
            return public_key.to_base64()

    def open(self, enc_key: str | BytesLike, *, peer: str | BytesLike, rng: RngFunction | None = None) -> ServerSession:
        """The client's session from a request's encKey: cached when the
        client reuses it, else unwrapped (`rng` blinds the RSA operation).
        `peer` identifies the sender (its IP address): failures are counted
        per peer, and a peer in lockdown gets EncryptionFailed for
        everything. Raises EncryptionFailed for any bad, stale or refused
        encKey and in lockdown."""
        # Nested, not parenthesized: Python 3.9 is supported.
        with _input(peer, "peer", wire=True) as (peer_buf, peer_len), _input(enc_key, "enc_key", wire=True) as (buf, n):  # noqa: SIM117
            with self._lease() as ptr:
                handle = _with_rng(
                    rng,
                    lambda: _new_handle(lambda out: _ffi.server_open(ptr, peer_buf, peer_len, buf, n, out)),
                    lambda cb: _new_handle(
                        lambda out: _ffi.server_open_with_rng(ptr, peer_buf, peer_len, buf, n, cb, None, out)
                    ),
                )
        return ServerSession(handle, self)

    def export_state(self) -> bytes:
        """The failure state (refused keys, peers, lockdowns, the digest
        key) as an opaque blob bound to this key pair: keep it like the
        private key (mode 0600) and pass it as `state` after a restart."""
        return self._export(_ffi.server_export_state, secret=True)

    def stats(self) -> ServerStats:
        """What the server has done, and its policy state now."""
        c_stats = _ffi.ServerStatsStruct()
        with self._lease() as ptr:
            _ffi.server_get_stats(ptr, ctypes.byref(c_stats))
        return ServerStats(**{f.name: int(getattr(c_stats, f.name)) for f in dataclasses.fields(ServerStats)})

    def __repr__(self) -> str:
        return "<Server>" if not self._closed else "<Server closed>"
