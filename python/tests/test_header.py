"""The Python declarations cannot drift from the C header: this parses
include/paramcrypt.h (generated from the Rust sources) and compares every
function (name, argument and return types), enum value and constant with what
the bindings declare."""

from __future__ import annotations

import ctypes
import enum
import re
from pathlib import Path
from typing import Any

import paramcrypt
from paramcrypt import AcceptedModes, Mode, Padding, Status, _ffi

HEADER = Path(__file__).resolve().parents[2] / "include" / "paramcrypt.h"

# How each C type of the header is declared in ctypes.
C_TO_CTYPES: dict[str, Any] = {
    "void": None,
    "size_t": ctypes.c_size_t,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    # The enums are uint32_t in C before C23 (the header's typedefs).
    "paramcrypt_status": ctypes.c_uint32,
    "paramcrypt_padding": ctypes.c_uint32,
    "paramcrypt_mode": ctypes.c_uint32,
    "paramcrypt_accepted_modes": ctypes.c_uint32,
    "paramcrypt_key_sizes": ctypes.c_uint32,
    "paramcrypt_server_setting": ctypes.c_uint32,
    "const char *": ctypes.c_char_p,
    "const uint8_t *": _ffi.c_uint8_p,
    "uint8_t *": _ffi.c_uint8_p,
    "size_t *": _ffi.c_size_t_p,
    "void *": ctypes.c_void_p,
    "paramcrypt_mode *": _ffi.c_uint32_p,
    "paramcrypt_rng_callback": _ffi.RNG_CALLBACK,
    "paramcrypt_clock_callback": _ffi.CLOCK_CALLBACK,
    "paramcrypt_event_callback": _ffi.EVENT_CALLBACK,
    "paramcrypt_failure_policy": _ffi.FailurePolicyStruct,
    "const paramcrypt_server_config *": _ffi.ServerConfigPointer,
    "paramcrypt_server_config *": _ffi.ServerConfigPointer,
    "paramcrypt_server_stats *": _ffi.ServerStatsPointer,
    "paramcrypt_transport_callback": _ffi.TRANSPORT_CALLBACK,
    "const paramcrypt_client_config *": _ffi.ClientConfigPointer,
    "paramcrypt_client_config *": _ffi.ClientConfigPointer,
    "const paramcrypt_param *": _ffi.ParamPointer,
    "int32_t": ctypes.c_int32,
}
# The structs the bindings mirror field by field.
STRUCTS: dict[str, Any] = {
    "paramcrypt_failure_policy": _ffi.FailurePolicyStruct,
    "paramcrypt_server_config": _ffi.ServerConfigStruct,
    "paramcrypt_server_event": _ffi.ServerEventStruct,
    "paramcrypt_server_stats": _ffi.ServerStatsStruct,
    "paramcrypt_client_config": _ffi.ClientConfigStruct,
    "paramcrypt_param": _ffi.ParamStruct,
}
HANDLES = "keypair|public_key|session|server|server_session|client"
HANDLE = re.compile(rf"^(const )?paramcrypt_({HANDLES}) \*$")
HANDLE_SLOT = re.compile(rf"^paramcrypt_({HANDLES}) \*\*$")


def header_text() -> str:
    # Comments out, so that prose cannot look like a declaration.
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def header_defines() -> dict[str, str]:
    return dict(re.findall(r"^#define (PARAMCRYPT_\w+) (.+)$", header_text(), flags=re.M))


def header_enum(name: str) -> dict[str, int]:
    body = re.search(rf"enum {name}\b[^{{]*\{{(.*?)\}}", header_text(), flags=re.S)
    assert body, f"enum {name} not in the header"
    defines = header_defines()
    values = {}
    for member, value in re.findall(r"(\w+)\s*=\s*(\w+)", body.group(1)):
        values[member] = int(defines.get(value, value))
    return values


def header_functions() -> dict[str, tuple[str, list[str]]]:
    """name -> (return type, parameter types) of every declaration."""
    functions = {}
    for ret, name, params in re.findall(
        r"^([A-Za-z_][\w ]*?\s*\**)\s*(paramcrypt_\w+)\(([^)]*)\);", header_text(), flags=re.M
    ):
        types = []
        for param in params.split(","):
            param = " ".join(param.split())
            if param in ("", "void"):
                continue
            # Drop the parameter name; keep the type with its stars.
            types.append(re.sub(r"\s*\b\w+$", "", param).replace(" *", " *").strip())
        ret = " ".join(ret.replace("PARAMCRYPT_NODISCARD", "").split())
        functions[name] = (ret.replace("*", " *").replace("  ", " ").strip(), types)
    return functions


def test_every_status_must_be_checked() -> None:
    """Each function that returns a status is declared PARAMCRYPT_NODISCARD
    (warn_unused_result), and nothing else is."""
    declarations = re.findall(r"^((?:PARAMCRYPT_NODISCARD\s+)?)[A-Za-z_][\w ]*?\s*\**\s*(paramcrypt_\w+)\(",
                              header_text(), flags=re.M)
    functions = header_functions()
    assert len(declarations) == len(functions)
    for nodiscard, name in declarations:
        assert bool(nodiscard) == (functions[name][0] == "paramcrypt_status"), name


def normalize(c_type: str) -> str:
    return re.sub(r"\s*(\*+)", r" \1", c_type).strip()


def ctypes_of(c_type: str) -> Any:
    c_type = normalize(c_type)
    if HANDLE.match(c_type):
        return ctypes.c_void_p
    if HANDLE_SLOT.match(c_type):
        return _ffi.c_void_pp
    assert c_type in C_TO_CTYPES, f"no ctypes mapping for C type {c_type!r}"
    return C_TO_CTYPES[c_type]


def test_the_header_parses_into_a_full_api() -> None:
    functions = header_functions()
    assert len(functions) >= 33
    assert functions["paramcrypt_session_decrypt"] == (
        "paramcrypt_status",
        ["const paramcrypt_session *", "const uint8_t *", "size_t", "uint8_t *", "size_t", "size_t *"],
    )
    assert functions["paramcrypt_version"] == ("const char *", [])


def test_every_header_function_is_declared_with_its_c_types() -> None:
    functions = header_functions()
    missing = sorted(set(functions) - set(_ffi.DECLARED))
    extra = sorted(set(_ffi.DECLARED) - set(functions))
    assert not missing and not extra, f"not declared in Python: {missing}; not in the header: {extra}"
    for name, (ret, params) in functions.items():
        argtypes, restype = _ffi.DECLARED[name]
        assert len(argtypes) == len(params), f"{name}: {len(argtypes)} arguments in Python, {len(params)} in C"
        for i, (declared, c_type) in enumerate(zip(argtypes, params)):
            assert declared == ctypes_of(c_type), f"{name} argument {i}: {declared} for C {c_type}"
        assert restype == ctypes_of(ret), f"{name} returns {restype} for C {ret}"


def enum_members(py_enum: type[enum.IntEnum], prefix: str) -> dict[str, int]:
    return {prefix + member.name: int(member) for member in py_enum}


def test_enum_values_match_the_header() -> None:
    status = {("PARAMCRYPT_" if s is Status.OK else "PARAMCRYPT_ERR_") + s.name: int(s) for s in Status}
    assert status == header_enum("paramcrypt_status")
    assert enum_members(Padding, "PARAMCRYPT_PADDING_") == header_enum("paramcrypt_padding")
    assert enum_members(Mode, "PARAMCRYPT_MODE_") == header_enum("paramcrypt_mode")
    assert enum_members(AcceptedModes, "PARAMCRYPT_ACCEPT_") == header_enum("paramcrypt_accepted_modes")


def test_constants_match_the_header() -> None:
    defines = header_defines()
    assert int(defines["PARAMCRYPT_ENCRYPTION_FAILED_CODE"]) == paramcrypt.ENCRYPTION_FAILED_CODE
    assert f'"{paramcrypt.ENCRYPTION_FAILED_MESSAGE}"' == defines["PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE"]
    assert f'"{paramcrypt.__version__}"' == defines["PARAMCRYPT_VERSION"]
    assert f'"{paramcrypt.library_version()}"' == defines["PARAMCRYPT_VERSION"]



def header_struct(name: str) -> list[tuple[str, str]]:
    """(field, C type) of a struct of the header, in order."""
    body = re.search(rf"typedef struct \{{([^{{}}]*)\}} {name};", header_text())
    assert body, f"struct {name} not in the header"
    fields = []
    for declaration in body.group(1).split(";"):
        declaration = " ".join(declaration.split())
        if declaration:
            c_type, field = re.match(r"(.*?)\s*(\w+)$", declaration).groups()  # type: ignore[union-attr]
            fields.append((field, normalize(c_type)))
    return fields


def test_structs_match_the_header_field_by_field() -> None:
    assert set(STRUCTS) == set(re.findall(r"typedef struct \{[^{}]*\} (paramcrypt_\w+);", header_text()))
    for name, struct in STRUCTS.items():
        header = header_struct(name)
        mirrored = [field[0] for field in struct._fields_]
        assert [field for field, _ in header] == mirrored, name
        for (field, c_type), (_, declared) in zip(header, struct._fields_):
            assert declared == ctypes_of(c_type), f"{name}.{field}: {declared} for C {c_type}"


def test_server_event_kinds_and_settings_match_the_header() -> None:
    kinds = {"PARAMCRYPT_EVENT_" + kind.name: int(kind) for kind in paramcrypt.ServerEventKind}
    assert kinds == header_enum("paramcrypt_server_event_kind")
    from paramcrypt import _api

    settings = {
        "PARAMCRYPT_SETTING_SERVER": _api._SETTING_SERVER,
        "PARAMCRYPT_SETTING_FIRMWARE": _api._SETTING_FIRMWARE,
    }
    assert settings == header_enum("paramcrypt_server_setting")
