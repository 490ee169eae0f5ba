"""KeyPair, PublicKey and Session: Pythonic handles over the C API."""

from __future__ import annotations

import contextlib
import ctypes
import enum
from typing import Any, Callable, TypeVar, Union

from . import _ffi
from ._errors import BufferTooSmall

BytesLike = Union[bytes, bytearray, memoryview]
T = TypeVar("T")
H = TypeVar("H", bound="_Handle")


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


class AcceptedModes(enum.IntEnum):
    """The encKey modes a Server accepts."""

    KEY_IV = 0
    """Only Mode.KEY_IV, what deployed clients send (the default)."""
    PER_MESSAGE_IV = 1
    """Only Mode.PER_MESSAGE_IV."""
    BOTH = 2
    """Both, told apart by the plaintext length."""


def _as_bytes(value: str | BytesLike, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _only_bytes(value: BytesLike, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


def _in(data: bytes) -> ctypes.Array[ctypes.c_uint8]:
    """A C input buffer holding `data` (never NULL, even when empty)."""
    return (ctypes.c_uint8 * max(len(data), 1)).from_buffer_copy(data or b"\0")


def _with_secret_input(data: bytes, call: Callable[[ctypes.Array[ctypes.c_uint8]], T]) -> T:
    """Runs `call` with a C copy of secret `data`, wiping the copy afterwards."""
    buf = _in(data)
    try:
        return call(buf)
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
        return bytes(buf[: out_len.value])
    finally:
        if secret:
            ctypes.memset(buf, 0, len(buf))


def _size_query(call: Callable[..., int]) -> int:
    """The output size a function needs (called with out_cap 0)."""
    out_len = ctypes.c_size_t(0)
    try:
        call(None, 0, ctypes.byref(out_len))
    except BufferTooSmall:
        return out_len.value
    return out_len.value


class _Handle:
    """Owns one C handle; released by close(), the context manager, or on
    garbage collection. Do not close a handle another thread is using."""

    _free: Callable[[ctypes.c_void_p], None]
    _kind = "handle"

    def __init__(self, ptr: ctypes.c_void_p) -> None:
        self._ptr: ctypes.c_void_p | None = ptr

    def _c(self) -> ctypes.c_void_p:
        """The C handle, for passing to the library."""
        if self._ptr is None:
            raise ValueError(f"this {self._kind} is closed")
        return self._ptr

    def _export(self, fn: Callable[..., int], secret: bool = False) -> bytes:
        """The output of `fn(handle, out, out_cap, out_len)`, sized by a query."""
        size = _size_query(lambda *out: fn(self._c(), *out))
        return _output(lambda *out: fn(self._c(), *out), size, secret=secret)

    def close(self) -> None:
        """Releases the C handle now (wiping its secrets). Idempotent."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            type(self)._free(ptr)

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
    def from_base64(cls, text: str | BytesLike) -> PublicKey:
        """Parses the getPublicKey value (base64 DER SubjectPublicKeyInfo)."""
        data = _as_bytes(text, "text")
        return cls(_new_handle(lambda out: _ffi.public_key_from_base64(_in(data), len(data), out)))

    @classmethod
    def from_pem(cls, pem: str | BytesLike) -> PublicKey:
        """Parses a PEM public key (BEGIN PUBLIC KEY)."""
        data = _as_bytes(pem, "pem")
        return cls(_new_handle(lambda out: _ffi.public_key_from_pem(_in(data), len(data), out)))

    @classmethod
    def from_der(cls, der: BytesLike) -> PublicKey:
        """Parses a DER SubjectPublicKeyInfo."""
        data = _only_bytes(der, "der")
        return cls(_new_handle(lambda out: _ffi.public_key_from_der(_in(data), len(data), out)))

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
        return int(_ffi.public_key_bits(self._c()))

    @property
    def wrapped_len(self) -> int:
        """The length of an encKey wrapped for this key."""
        return int(_ffi.public_key_wrapped_len(self._c()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.to_der() == other.to_der()

    def __hash__(self) -> int:
        return hash(self.to_der())

    def __repr__(self) -> str:
        return f"<PublicKey {self.bits} bits>" if self._ptr is not None else "<PublicKey closed>"


class Session(_Handle):
    """A common key (AES-128 key, IV, mode). Immutable and thread-safe; the
    key and IV are wiped when it is closed or collected."""

    _free = staticmethod(_ffi.session_free)
    _kind = "Session"

    @classmethod
    def new(cls, mode: Mode = Mode.KEY_IV) -> Session:
        """Client side: a fresh random key and IV from the OS RNG."""
        mode_value = _as_enum(Mode, mode, "mode")
        return cls(_new_handle(lambda out: _ffi.session_new(mode_value, out)))

    @property
    def mode(self) -> Mode:
        """The IV mode (detected from the encKey on the server side)."""
        value = ctypes.c_uint32()
        _ffi.session_mode(self._c(), ctypes.byref(value))
        return Mode(value.value)

    def wrap(self, public_key: PublicKey, padding: Padding = Padding.PKCS1V15) -> str:
        """Client side: the base64 encKey of this session for `public_key`."""
        if not isinstance(public_key, PublicKey):
            raise TypeError(f"public_key must be a PublicKey, not {type(public_key).__name__}")
        padding_value = _as_enum(Padding, padding, "padding")
        size = public_key.wrapped_len
        return _output(
            lambda *out: _ffi.session_wrap(self._c(), public_key._c(), padding_value, *out), size
        ).decode("ascii")

    def encrypt(self, plaintext: str | BytesLike) -> str:
        """Encrypts a secret parameter (str as UTF-8, or bytes) to its base64
        wire value."""
        data = _as_bytes(plaintext, "plaintext")
        size = int(_ffi.encrypted_len(self.mode, len(data)))

        def encrypt_from(buf: ctypes.Array[ctypes.c_uint8]) -> bytes:
            return _output(lambda *out: _ffi.session_encrypt(self._c(), buf, len(data), *out), size)

        return _with_secret_input(data, encrypt_from).decode("ascii")

    def decrypt(self, value: str | BytesLike) -> bytes:
        """Decrypts a secret parameter's base64 wire value. Raises
        EncryptionFailed for anything wrong with it."""
        data = _as_bytes(value, "value")
        size = _ffi.decrypted_max_len(len(data))
        return _output(lambda *out: _ffi.session_decrypt(self._c(), _in(data), len(data), *out), size, secret=True)

    def __repr__(self) -> str:
        return f"<Session {self.mode.name}>" if self._ptr is not None else "<Session closed>"


class KeyPair(_Handle):
    """The server's RSA key pair. Immutable and thread-safe: share one
    between request threads. The private key is wiped when it is closed."""

    _free = staticmethod(_ffi.keypair_free)
    _kind = "KeyPair"

    @classmethod
    def generate(cls, bits: int = 2048) -> KeyPair:
        """Generates a key pair of 1024, 2048, 3072 or 4096 bits (OS RNG).
        Slow on small CPUs: generate once, store with to_pem()."""
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise TypeError(f"bits must be int, not {type(bits).__name__}")
        if bits < 0:
            raise ValueError("bits must not be negative")
        return cls(_new_handle(lambda out: _ffi.keypair_generate(bits, out)))

    @classmethod
    def from_pem(cls, pem: str | BytesLike) -> KeyPair:
        """Loads a PKCS#8 (BEGIN PRIVATE KEY) or PKCS#1 (BEGIN RSA PRIVATE
        KEY) PEM private key."""
        data = _as_bytes(pem, "pem")
        return cls(_with_secret_input(data, lambda buf: _new_handle(
            lambda out: _ffi.keypair_from_pem(buf, len(data), out))))

    @classmethod
    def from_der(cls, der: BytesLike) -> KeyPair:
        """Loads an unencrypted PKCS#8 DER private key."""
        data = _only_bytes(der, "der")
        return cls(_with_secret_input(data, lambda buf: _new_handle(
            lambda out: _ffi.keypair_from_pkcs8_der(buf, len(data), out))))

    def to_pem(self) -> str:
        """The private key as PKCS#8 PEM. Secret: store it with mode 0600."""
        return self._export(_ffi.keypair_to_pkcs8_pem, secret=True).decode("ascii")

    def to_der(self) -> bytes:
        """The private key as PKCS#8 DER. Secret."""
        return self._export(_ffi.keypair_to_pkcs8_der, secret=True)

    @property
    def bits(self) -> int:
        """The modulus size in bits."""
        return int(_ffi.keypair_bits(self._c()))

    def public_key(self) -> PublicKey:
        """The public half."""
        return PublicKey(_new_handle(lambda out: _ffi.keypair_public_key(self._c(), out)))

    def public_key_base64(self) -> str:
        """The getPublicKey value."""
        with self.public_key() as public_key:
            return public_key.to_base64()

    def unwrap(self, enc_key: str | BytesLike, padding: Padding = Padding.PKCS1V15) -> Session:
        """Server side: the client's session from its encKey. `padding` is the
        server's configured scheme. Raises EncryptionFailed for any bad encKey."""
        data = _as_bytes(enc_key, "enc_key")
        padding_value = _as_enum(Padding, padding, "padding")
        return Session(
            _new_handle(lambda out: _ffi.keypair_unwrap(self._c(), _in(data), len(data), padding_value, out))
        )

    def __repr__(self) -> str:
        return f"<KeyPair {self.bits} bits>" if self._ptr is not None else "<KeyPair closed>"


class ServerSession(_Handle):
    """A client's common key as a Server holds it, from Server.open(). After
    a decryption fails, the server refuses the key: that call and every later
    one on any session with the same key raise EncryptionFailed."""

    _free = staticmethod(_ffi.server_session_free)
    _kind = "ServerSession"

    @property
    def mode(self) -> Mode:
        """The client's IV mode."""
        value = ctypes.c_uint32()
        _ffi.server_session_mode(self._c(), ctypes.byref(value))
        return Mode(value.value)

    @property
    def key_id(self) -> int:
        """An identifier of the client's common key (a keyed digest): equal for
        every session with the same key. Use it to keep per-client state."""
        return int(_ffi.server_session_key_id(self._c()))

    def decrypt(self, value: str | BytesLike) -> bytes:
        """Decrypts a secret parameter of the request. Raises EncryptionFailed
        for anything wrong with it, and from then on for this common key."""
        data = _as_bytes(value, "value")
        size = int(_ffi.decrypted_max_len(len(data)))
        return _output(
            lambda *out: _ffi.server_session_decrypt(self._c(), _in(data), len(data), *out), size, secret=True
        )

    def encrypt(self, plaintext: str | BytesLike) -> str:
        """Encrypts a reply value (str as UTF-8, or bytes) under the client's
        common key. Raises EncryptionFailed once the key is refused."""
        data = _as_bytes(plaintext, "plaintext")
        size = int(_ffi.encrypted_len(self.mode, len(data)))

        def encrypt_from(buf: ctypes.Array[ctypes.c_uint8]) -> bytes:
            return _output(lambda *out: _ffi.server_session_encrypt(self._c(), buf, len(data), *out), size)

        return _with_secret_input(data, encrypt_from).decode("ascii")

    def __repr__(self) -> str:
        return f"<ServerSession {self.mode.name}>" if self._ptr is not None else "<ServerSession closed>"


class Server(_Handle):
    """A server: a copy of the key pair, its configuration, a cache of opened
    encKeys (no RSA work when a client reuses its encKey) and the common keys
    it refused after a failure (so that a replayed encKey is no padding
    oracle). Thread-safe: share one between request threads.

    Capacities: servers use the defaults (1,024 sessions, 65,536 refusals in
    0.86 MiB); a cache capacity of 0 disables the cache."""

    _free = staticmethod(_ffi.server_free)
    _kind = "Server"

    DEFAULT_CACHE_CAPACITY = 1024
    DEFAULT_REFUSAL_CAPACITY = 65536

    def __init__(
        self,
        key_pair: KeyPair,
        padding: Padding = Padding.PKCS1V15,
        modes: AcceptedModes = AcceptedModes.KEY_IV,
        cache_capacity: int = DEFAULT_CACHE_CAPACITY,
        refusal_capacity: int = DEFAULT_REFUSAL_CAPACITY,
    ) -> None:
        if not isinstance(key_pair, KeyPair):
            raise TypeError(f"key_pair must be a KeyPair, not {type(key_pair).__name__}")
        padding_value = _as_enum(Padding, padding, "padding")
        modes_value = _as_enum(AcceptedModes, modes, "modes")
        for name, capacity in (("cache_capacity", cache_capacity), ("refusal_capacity", refusal_capacity)):
            if isinstance(capacity, bool) or not isinstance(capacity, int):
                raise TypeError(f"{name} must be int, not {type(capacity).__name__}")
            if capacity < 0:
                raise ValueError(f"{name} must not be negative")
        ptr = _new_handle(
            lambda out: _ffi.server_new(
                key_pair._c(), padding_value, modes_value, cache_capacity, refusal_capacity, out
            )
        )
        super().__init__(ptr)

    def public_key(self) -> PublicKey:
        """The server's public key."""
        return PublicKey(_new_handle(lambda out: _ffi.server_public_key(self._c(), out)))

    def public_key_base64(self) -> str:
        """The getPublicKey value."""
        with self.public_key() as public_key:
            return public_key.to_base64()

    def open(self, enc_key: str | BytesLike) -> ServerSession:
        """The client's session from a request's encKey: cached when the
        client reuses its encKey, else unwrapped. Raises EncryptionFailed for
        any bad, stale or refused encKey."""
        data = _as_bytes(enc_key, "enc_key")
        return ServerSession(_new_handle(lambda out: _ffi.server_open(self._c(), _in(data), len(data), out)))

    def __repr__(self) -> str:
        return "<Server>" if self._ptr is not None else "<Server closed>"

