"""Loading libparamcrypt and declaring its functions: the only module that
touches ctypes declarations. Every function is declared through `_declare`,
so none relies on ctypes' default `int` return type, and every declaration
is recorded in `DECLARED`, which tests/test_header.py checks against
include/paramcrypt.h."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.machinery
import os
from pathlib import Path
from typing import Any, Callable

from ._errors import Status, error_for

ENV_VAR = "PARAMCRYPT_LIB"
_REPO_LIB = Path(__file__).resolve().parents[2] / "target" / "release" / "libparamcrypt.so"

c_size_t = ctypes.c_size_t
c_uint8_p = ctypes.POINTER(ctypes.c_uint8)
c_size_t_p = ctypes.POINTER(ctypes.c_size_t)
c_void_p = ctypes.c_void_p
c_void_pp = ctypes.POINTER(ctypes.c_void_p)
c_uint32 = ctypes.c_uint32
c_uint32_p = ctypes.POINTER(ctypes.c_uint32)
RNG_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_uint8_p, ctypes.c_size_t)
CLOCK_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p)


class FailurePolicyStruct(ctypes.Structure):
    """paramcrypt_failure_policy."""

    _fields_ = [
        ("key_refusal_seconds", c_uint32),
        ("key_failure_budget", c_uint32),
        ("peer_failure_limit", c_uint32),
        ("peer_window_seconds", c_uint32),
        ("server_failure_limit", c_uint32),
        ("server_window_seconds", c_uint32),
        ("lockdown_seconds", c_uint32),
        ("lockdown_max_seconds", c_uint32),
        ("unwrap_limit", c_uint32),
        ("unwrap_window_seconds", c_uint32),
    ]


class ServerEventStruct(ctypes.Structure):
    """paramcrypt_server_event."""

    _fields_ = [("kind", c_uint32), ("seconds", c_uint32), ("peer", c_uint8_p), ("peer_len", c_size_t)]


EVENT_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ServerEventStruct))


class ServerConfigStruct(ctypes.Structure):
    """paramcrypt_server_config."""

    _fields_ = [
        ("padding", c_uint32),
        ("modes", c_uint32),
        ("cache_capacity", c_size_t),
        ("refusal_capacity", c_size_t),
        ("peer_capacity", c_size_t),
        ("policy", FailurePolicyStruct),
        ("clock", CLOCK_CALLBACK),
        ("clock_user", c_void_p),
        ("on_event", EVENT_CALLBACK),
        ("event_user", c_void_p),
        ("state", c_uint8_p),
        ("state_len", c_size_t),
    ]


class ServerStatsStruct(ctypes.Structure):
    """paramcrypt_server_stats."""

    _fields_ = [
        ("cache_hits", ctypes.c_uint64),
        ("unwraps", ctypes.c_uint64),
        ("failures", ctypes.c_uint64),
        ("refused", ctypes.c_uint64),
        ("keys_refused_for_good", ctypes.c_uint64),
        ("lockdown_answers", ctypes.c_uint64),
        ("peer_lockdowns", ctypes.c_uint64),
        ("server_lockdowns", ctypes.c_uint64),
        ("unwraps_limited", ctypes.c_uint64),
        ("cached_sessions", c_size_t),
        ("remembered_keys", c_size_t),
        ("remembered_peers", c_size_t),
        ("server_lockdown_seconds", c_uint32),
    ]


class ClientConfigStruct(ctypes.Structure):
    """paramcrypt_client_config."""

    _fields_ = [
        ("padding", c_uint32),
        ("mode", c_uint32),
        ("reuse_calls", c_uint32),
        ("reuse_seconds", c_uint32),
        ("failure_budget", c_uint32),
        ("failure_window_seconds", c_uint32),
        ("key_sizes", c_uint32),
        ("max_response_len", c_size_t),
    ]


class ParamStruct(ctypes.Structure):
    """paramcrypt_param."""

    _fields_ = [("name", c_uint8_p), ("name_len", c_size_t), ("value", c_uint8_p), ("value_len", c_size_t)]


TRANSPORT_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int32, ctypes.c_void_p, c_uint8_p, c_size_t, c_uint8_p, c_size_t, c_uint8_p, c_size_t, c_size_t_p
)
ClientConfigPointer = ctypes.POINTER(ClientConfigStruct)
ParamPointer = ctypes.POINTER(ParamStruct)
ServerConfigPointer = ctypes.POINTER(ServerConfigStruct)
ServerStatsPointer = ctypes.POINTER(ServerStatsStruct)


class LibraryNotFound(OSError):
    """libparamcrypt.so could not be located or loaded."""


def _bundled_library() -> Path | None:
    """The library an installed package carries (built by setuptools-rust)."""
    here = Path(__file__).resolve().parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = here / f"_libparamcrypt{suffix}"
        if candidate.is_file():
            return candidate
    return None


def find_library() -> str:
    """The path of the shared library to load: `PARAMCRYPT_LIB`, else the one
    the installed package carries, else the repository's `target/release`
    build (a source checkout), else the system library path."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if not Path(explicit).is_file():
            raise LibraryNotFound(f"{ENV_VAR}={explicit!r} does not name a file")
        return explicit
    bundled = _bundled_library()
    if bundled is not None:
        return str(bundled)
    if _REPO_LIB.is_file():
        return str(_REPO_LIB)
    system = ctypes.util.find_library("paramcrypt")
    if system:
        return system
    raise LibraryNotFound(
        "libparamcrypt.so not found. Install the package with pip (which builds it), build it "
        "with `cargo build --release` in the paramcrypt "
        f"repository (it is looked for at {_REPO_LIB}), install it with `make install`, "
        f"or set {ENV_VAR}=/path/to/libparamcrypt.so"
    )


def _load() -> ctypes.CDLL:
    path = find_library()
    try:
        # CDLL (not PyDLL): ctypes releases the GIL for every call, so RSA
        # work in one thread does not block the others.
        return ctypes.CDLL(path)
    except OSError as exc:
        raise LibraryNotFound(f"cannot load {path}: {exc}") from exc


lib = _load()
library_path: str = lib._name


# name -> (argtypes, restype) of every declared function.
DECLARED: dict[str, tuple[list[Any], Any]] = {}


def _declare(name: str, argtypes: list[Any], restype: Any, errcheck: Callable[..., Any] | None = None) -> Any:
    fn = getattr(lib, name)
    fn.argtypes = argtypes
    fn.restype = restype
    if errcheck is not None:
        fn.errcheck = errcheck
    DECLARED[name] = (argtypes, restype)
    return fn


def _status_errcheck(result: int, func: Any, args: tuple[Any, ...]) -> int:
    if result != Status.OK:
        raise error_for(result, status_message(result).decode("utf-8"))
    return result


def _status_fn(name: str, argtypes: list[Any]) -> Any:
    """A function returning paramcrypt_status that raises the matching
    exception for every status but OK, BUFFER_TOO_SMALL included (the size
    queries of _api catch that one)."""
    return _declare(name, argtypes, c_uint32, _status_errcheck)


status_message = _declare("paramcrypt_status_message", [c_uint32], ctypes.c_char_p)
version = _declare("paramcrypt_version", [], ctypes.c_char_p)
rsa_backend = _declare("paramcrypt_rsa_backend", [], ctypes.c_char_p)

keypair_generate = _status_fn("paramcrypt_keypair_generate", [c_size_t, c_void_pp])
keypair_generate_with_rng = _status_fn(
    "paramcrypt_keypair_generate_with_rng", [c_size_t, RNG_CALLBACK, c_void_p, c_void_pp]
)
keypair_from_pem = _status_fn("paramcrypt_keypair_from_pem", [c_uint8_p, c_size_t, c_void_pp])
keypair_from_pkcs8_der = _status_fn("paramcrypt_keypair_from_pkcs8_der", [c_uint8_p, c_size_t, c_void_pp])
keypair_from_pem_with_sizes = _status_fn(
    "paramcrypt_keypair_from_pem_with_sizes", [c_uint8_p, c_size_t, c_uint32, c_void_pp]
)
keypair_from_pkcs8_der_with_sizes = _status_fn(
    "paramcrypt_keypair_from_pkcs8_der_with_sizes", [c_uint8_p, c_size_t, c_uint32, c_void_pp]
)
keypair_to_pkcs8_pem = _status_fn("paramcrypt_keypair_to_pkcs8_pem", [c_void_p, c_uint8_p, c_size_t, c_size_t_p])
keypair_to_pkcs8_der = _status_fn("paramcrypt_keypair_to_pkcs8_der", [c_void_p, c_uint8_p, c_size_t, c_size_t_p])
keypair_bits = _declare("paramcrypt_keypair_bits", [c_void_p], c_size_t)
keypair_public_key = _status_fn("paramcrypt_keypair_public_key", [c_void_p, c_void_pp])
keypair_unwrap = _status_fn("paramcrypt_keypair_unwrap", [c_void_p, c_uint8_p, c_size_t, c_uint32, c_void_pp])
keypair_unwrap_with_rng = _status_fn(
    "paramcrypt_keypair_unwrap_with_rng",
    [c_void_p, c_uint8_p, c_size_t, c_uint32, RNG_CALLBACK, c_void_p, c_void_pp],
)
keypair_free = _declare("paramcrypt_keypair_free", [c_void_p], None)

public_key_from_base64 = _status_fn("paramcrypt_public_key_from_base64", [c_uint8_p, c_size_t, c_void_pp])
public_key_from_pem = _status_fn("paramcrypt_public_key_from_pem", [c_uint8_p, c_size_t, c_void_pp])
public_key_from_der = _status_fn("paramcrypt_public_key_from_der", [c_uint8_p, c_size_t, c_void_pp])
public_key_from_base64_with_sizes = _status_fn(
    "paramcrypt_public_key_from_base64_with_sizes", [c_uint8_p, c_size_t, c_uint32, c_void_pp]
)
public_key_from_pem_with_sizes = _status_fn(
    "paramcrypt_public_key_from_pem_with_sizes", [c_uint8_p, c_size_t, c_uint32, c_void_pp]
)
public_key_from_der_with_sizes = _status_fn(
    "paramcrypt_public_key_from_der_with_sizes", [c_uint8_p, c_size_t, c_uint32, c_void_pp]
)
public_key_to_base64 = _status_fn("paramcrypt_public_key_to_base64", [c_void_p, c_uint8_p, c_size_t, c_size_t_p])
public_key_to_pem = _status_fn("paramcrypt_public_key_to_pem", [c_void_p, c_uint8_p, c_size_t, c_size_t_p])
public_key_to_der = _status_fn("paramcrypt_public_key_to_der", [c_void_p, c_uint8_p, c_size_t, c_size_t_p])
public_key_from_published = _status_fn("paramcrypt_public_key_from_published", [c_uint8_p, c_size_t, c_void_pp])
public_key_from_published_with_sizes = _status_fn(
    "paramcrypt_public_key_from_published_with_sizes", [c_uint8_p, c_size_t, c_uint32, c_void_pp]
)
public_key_fingerprint = _status_fn(
    "paramcrypt_public_key_fingerprint", [c_void_p, c_uint8_p, c_size_t, c_size_t_p]
)
public_key_bits = _declare("paramcrypt_public_key_bits", [c_void_p], c_size_t)
public_key_wrapped_len = _declare("paramcrypt_public_key_wrapped_len", [c_void_p], c_size_t)
public_key_free = _declare("paramcrypt_public_key_free", [c_void_p], None)

session_new = _status_fn("paramcrypt_session_new", [c_uint32, c_void_pp])
session_new_with_rng = _status_fn("paramcrypt_session_new_with_rng", [c_uint32, RNG_CALLBACK, c_void_p, c_void_pp])
session_mode = _status_fn("paramcrypt_session_mode", [c_void_p, c_uint32_p])
session_wrap = _status_fn(
    "paramcrypt_session_wrap", [c_void_p, c_void_p, c_uint32, c_uint8_p, c_size_t, c_size_t_p]
)
session_wrap_with_rng = _status_fn(
    "paramcrypt_session_wrap_with_rng",
    [c_void_p, c_void_p, c_uint32, RNG_CALLBACK, c_void_p, c_uint8_p, c_size_t, c_size_t_p],
)
session_encrypt = _status_fn(
    "paramcrypt_session_encrypt", [c_void_p, c_uint8_p, c_size_t, c_uint8_p, c_size_t, c_size_t_p]
)
session_encrypt_with_rng = _status_fn(
    "paramcrypt_session_encrypt_with_rng",
    [c_void_p, c_uint8_p, c_size_t, RNG_CALLBACK, c_void_p, c_uint8_p, c_size_t, c_size_t_p],
)
session_decrypt = _status_fn(
    "paramcrypt_session_decrypt", [c_void_p, c_uint8_p, c_size_t, c_uint8_p, c_size_t, c_size_t_p]
)
session_free = _declare("paramcrypt_session_free", [c_void_p], None)

server_config_init = _status_fn("paramcrypt_server_config_init", [c_uint32, ServerConfigPointer])
server_new = _status_fn("paramcrypt_server_new", [c_void_p, ServerConfigPointer, c_void_pp])
server_new_with_rng = _status_fn(
    "paramcrypt_server_new_with_rng", [c_void_p, ServerConfigPointer, RNG_CALLBACK, c_void_p, c_void_pp]
)
server_public_key = _status_fn("paramcrypt_server_public_key", [c_void_p, c_void_pp])
server_open = _status_fn(
    "paramcrypt_server_open", [c_void_p, c_uint8_p, c_size_t, c_uint8_p, c_size_t, c_void_pp]
)
server_open_with_rng = _status_fn(
    "paramcrypt_server_open_with_rng",
    [c_void_p, c_uint8_p, c_size_t, c_uint8_p, c_size_t, RNG_CALLBACK, c_void_p, c_void_pp],
)
server_export_state = _status_fn(
    "paramcrypt_server_export_state", [c_void_p, c_uint8_p, c_size_t, c_size_t_p]
)
server_get_stats = _status_fn("paramcrypt_server_get_stats", [c_void_p, ServerStatsPointer])
server_free = _declare("paramcrypt_server_free", [c_void_p], None)
server_session_mode = _status_fn("paramcrypt_server_session_mode", [c_void_p, c_uint32_p])
server_session_key_id = _declare("paramcrypt_server_session_key_id", [c_void_p], ctypes.c_uint64)
server_session_decrypt = _status_fn(
    "paramcrypt_server_session_decrypt", [c_void_p, c_uint8_p, c_size_t, c_uint8_p, c_size_t, c_size_t_p]
)
server_session_decrypt_text = _status_fn(
    "paramcrypt_server_session_decrypt_text", [c_void_p, c_uint8_p, c_size_t, c_uint8_p, c_size_t, c_size_t_p]
)
server_session_report_failure = _status_fn("paramcrypt_server_session_report_failure", [c_void_p])
server_session_encrypt = _status_fn(
    "paramcrypt_server_session_encrypt", [c_void_p, c_uint8_p, c_size_t, c_uint8_p, c_size_t, c_size_t_p]
)
server_session_encrypt_with_rng = _status_fn(
    "paramcrypt_server_session_encrypt_with_rng",
    [c_void_p, c_uint8_p, c_size_t, RNG_CALLBACK, c_void_p, c_uint8_p, c_size_t, c_size_t_p],
)
server_session_free = _declare("paramcrypt_server_session_free", [c_void_p], None)

encrypted_len = _declare("paramcrypt_encrypted_len", [c_uint32, c_size_t], c_size_t)
decrypted_max_len = _declare("paramcrypt_decrypted_max_len", [c_size_t], c_size_t)

client_config_init = _status_fn("paramcrypt_client_config_init", [ClientConfigPointer])
client_new = _status_fn("paramcrypt_client_new", [ClientConfigPointer, TRANSPORT_CALLBACK, c_void_p, c_void_pp])
client_pin = _status_fn("paramcrypt_client_pin", [c_void_p, c_uint8_p, c_size_t])
client_fingerprint = _status_fn("paramcrypt_client_fingerprint", [c_void_p, c_uint8_p, c_size_t, c_size_t_p])
client_repin = _status_fn("paramcrypt_client_repin", [c_void_p])
client_reset_failures = _status_fn("paramcrypt_client_reset_failures", [c_void_p])
client_call = _status_fn(
    "paramcrypt_client_call",
    [
        c_void_p,
        c_uint8_p, c_size_t,
        c_uint8_p, c_size_t,
        c_uint8_p, c_size_t,
        c_uint8_p, c_size_t,
        ParamPointer, c_size_t,
        ParamPointer, c_size_t,
        c_uint8_p, c_size_t, c_size_t_p,
    ],
)
client_result = _status_fn("paramcrypt_client_result", [c_void_p, c_uint8_p, c_size_t, c_size_t_p])
client_error_message = _declare(
    "paramcrypt_client_error_message", [c_void_p, c_uint8_p, c_size_t, c_size_t_p], c_uint32
)
client_free = _declare("paramcrypt_client_free", [c_void_p], None)
