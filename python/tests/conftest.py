import os
import pathlib

import pytest

import paramcrypt

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"

# `make test-wheel` runs this suite with a virtual environment holding only
# the wheel: every test must then use the wheel's package and library.
_INSTALLED_PREFIX = os.environ.get("PARAMCRYPT_EXPECT_INSTALLED")
if _INSTALLED_PREFIX:
    _package = pathlib.Path(paramcrypt.__file__).resolve().parent
    assert pathlib.Path(_INSTALLED_PREFIX).resolve() in _package.parents, f"paramcrypt from {_package}"
    assert pathlib.Path(paramcrypt.library_path).resolve().parent == _package, paramcrypt.library_path


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    return DATA


@pytest.fixture(scope="session")
def key_2048() -> paramcrypt.KeyPair:
    return paramcrypt.KeyPair.from_pem((DATA / "keys" / "rsa2048_pkcs8.pem").read_text())


@pytest.fixture(scope="session")
def key_1024() -> paramcrypt.KeyPair:
    # A legacy peer's key: loading it is an explicit opt-in.
    return paramcrypt.KeyPair.from_pem((DATA / "keys" / "rsa1024_pkcs8.pem").read_text(), allow_legacy_1024=True)
