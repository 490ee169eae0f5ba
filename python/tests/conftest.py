import pathlib

import pytest

import paramcrypt

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"


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
