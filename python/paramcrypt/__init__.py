"""paramcrypt: parameter encryption for JSON-RPC device APIs (ctypes bindings).

A device holds a KeyPair and publishes `public_key_base64()`. A client makes
a `Session.new()`, sends `session.wrap(public_key)` as encKey and each secret
parameter as `session.encrypt(value)`. The device calls
`key_pair.unwrap(enc_key).decrypt(value)`, or better, through a Server
(`server.open(enc_key, peer=client_ip).decrypt(value)`), which caches
encKeys and applies the failure policy. Every failure a peer can cause
raises EncryptionFailed (code 40002): answer `[40002, "Encryption Failed"]`.

A client of a device is one object: `Client.http(url, psk,
known_devices=...)`, then `client.call(service, method, secrets={...},
decrypt=[...])` (a fresh common key per call, one retry after 40002, a
failure budget, the device's key pinned on first use).

The shared library is found through PARAMCRYPT_LIB, else the repository's
target/release build, else the system library path.
"""

from ._api import (
    AcceptedModes,
    ClockFunction,
    FailurePolicy,
    KeyPair,
    Mode,
    Padding,
    PublicKey,
    RngFunction,
    Server,
    ServerEvent,
    ServerEventKind,
    ServerSession,
    ServerStats,
    Session,
    decrypted_max_len,
    log_server_event,
)
from ._client import Client, HttpTransport, KnownDevices, TransportFunction
from ._errors import (
    BadResponse,
    EncryptionFailed,
    FailureBudgetSpent,
    InvalidKey,
    InvalidState,
    KeyTooSmall,
    ParamcryptError,
    PinMismatch,
    RngError,
    RpcError,
    Status,
    TransportError,
    UnsupportedKeySize,
)
from ._ffi import LibraryNotFound, library_path, status_message

ENCRYPTION_FAILED_CODE: int = int(Status.ENCRYPTION_FAILED)
"""The JSON-RPC error code of every encryption failure (40002)."""
ENCRYPTION_FAILED_MESSAGE: str = status_message(Status.ENCRYPTION_FAILED).decode("utf-8")
"""The JSON-RPC error message of every encryption failure, from the library."""

__version__ = "0.1.0"


def library_version() -> str:
    """The version of the loaded libparamcrypt."""
    from . import _ffi

    version: bytes = _ffi.version()
    return version.decode("ascii")


def rsa_backend() -> str:
    """Which backend runs the RSA private-key operation in the loaded
    library: "aws-lc" (server builds on x86-64 and aarch64 Linux and macOS),
    "rsa-crate" (the Rust ``rsa`` crate) or "compact" (paramcrypt's own, as
    in firmware). With AWS-LC, unwraps are blinded by AWS-LC's own
    generator and an ``rng=`` hook is not called for them."""
    from . import _ffi

    backend: bytes = _ffi.rsa_backend()
    return backend.decode("ascii")


__all__ = [
    "AcceptedModes",
    "BadResponse",
    "Client",
    "ClockFunction",
    "ENCRYPTION_FAILED_CODE",
    "ENCRYPTION_FAILED_MESSAGE",
    "EncryptionFailed",
    "FailureBudgetSpent",
    "FailurePolicy",
    "HttpTransport",
    "InvalidKey",
    "InvalidState",
    "KeyPair",
    "KeyTooSmall",
    "KnownDevices",
    "LibraryNotFound",
    "Mode",
    "Padding",
    "ParamcryptError",
    "PinMismatch",
    "PublicKey",
    "RngError",
    "RngFunction",
    "RpcError",
    "Server",
    "ServerEvent",
    "ServerEventKind",
    "ServerSession",
    "ServerStats",
    "Session",
    "Status",
    "TransportError",
    "TransportFunction",
    "UnsupportedKeySize",
    "decrypted_max_len",
    "library_path",
    "library_version",
    "log_server_event",
    "rsa_backend",
]
