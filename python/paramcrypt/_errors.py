"""Status codes and the exceptions they become, in one place. Imports no
other module of the package (the messages come from the library, through
`_ffi`, which calls `error_for`)."""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """paramcrypt_status values. They mirror include/paramcrypt.h, which
    tests/test_header.py checks them against."""

    OK = 0
    NULL_ARGUMENT = 1
    INVALID_ARGUMENT = 2
    BUFFER_TOO_SMALL = 3
    BUSY = 4
    INVALID_HANDLE = 5
    UNSUPPORTED_KEY_SIZE = 100
    INVALID_KEY = 101
    RNG = 102
    KEY_TOO_SMALL = 103
    INVALID_STATE = 104
    PIN_MISMATCH = 105
    FAILURE_BUDGET = 106
    TRANSPORT = 107
    RPC = 108
    BAD_RESPONSE = 109
    PANIC = 900
    ENCRYPTION_FAILED = 40002


class ParamcryptError(Exception):
    """Base of every paramcrypt error; `code` is the library's status code."""

    code: int = -1

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class EncryptionFailed(ParamcryptError):
    """JSON-RPC error 40002 "Encryption Failed": an encKey or a secret
    parameter could not be unwrapped or decrypted. Deliberately carries no
    detail; the client should start over (fetch the public key, new session)."""

    def __init__(self, message: str = "Encryption Failed", code: int = Status.ENCRYPTION_FAILED) -> None:
        super().__init__(message, code)


class InvalidKey(ParamcryptError, ValueError):
    """A key could not be parsed (malformed, not RSA, not 2048 to 4096 bits;
    1024 bits only with allow_legacy_1024=True)."""


class UnsupportedKeySize(ParamcryptError, ValueError):
    """Key generation supports 2048, 3072 and 4096 bits only."""


class KeyTooSmall(ParamcryptError, ValueError):
    """The public key is too small for this padding and mode."""


class RngError(ParamcryptError):
    """The random number generator failed."""


class InvalidState(ParamcryptError, ValueError):
    """A saved server state could not be loaded: corrupted, made by a server
    with another key pair, or of another format version. Nothing of it was
    loaded."""


class PinMismatch(ParamcryptError):
    """The device presented a public key other than the pinned one; nothing
    secret was sent. The message names both fingerprints; Client.repin()
    accepts the new key (only if the device's key really changed)."""


class FailureBudgetSpent(ParamcryptError):
    """Too many 40002 answers in a short time: the client sends no more
    encrypted calls until Client.reset_failures(). Someone may be tampering
    with the traffic."""


class TransportError(ParamcryptError, OSError):
    """The transport failed (connection, timeout, HTTP error)."""


class RpcError(ParamcryptError):
    """The device answered a JSON-RPC error other than 40002; `error_code`
    and `error_message` are the device's."""

    error_code: int = -1
    error_message: str = ""


class BadResponse(ParamcryptError):
    """The device's answer is not what the protocol says."""


class BufferTooSmall(ParamcryptError):
    """Internal: an output buffer was too small. The bindings size every
    buffer with a size query first, so this escaping to a caller is a bug."""


_EXCEPTIONS: dict[int, type[ParamcryptError]] = {
    Status.ENCRYPTION_FAILED: EncryptionFailed,
    Status.INVALID_KEY: InvalidKey,
    Status.UNSUPPORTED_KEY_SIZE: UnsupportedKeySize,
    Status.KEY_TOO_SMALL: KeyTooSmall,
    Status.RNG: RngError,
    Status.INVALID_STATE: InvalidState,
    Status.PIN_MISMATCH: PinMismatch,
    Status.FAILURE_BUDGET: FailureBudgetSpent,
    Status.TRANSPORT: TransportError,
    Status.RPC: RpcError,
    Status.BAD_RESPONSE: BadResponse,
    Status.BUFFER_TOO_SMALL: BufferTooSmall,
}


def error_for(status: int, message: str) -> ParamcryptError:
    """The exception for a non-zero status and its library message."""
    return _EXCEPTIONS.get(status, ParamcryptError)(message, int(status))
