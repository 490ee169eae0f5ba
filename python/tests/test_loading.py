"""Where the shared library comes from, and what happens when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import paramcrypt

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO_LIB = PYTHON_DIR.parent / "target" / "release" / "libparamcrypt.so"


def run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


def test_paramcrypt_lib_is_honoured() -> None:
    if "PARAMCRYPT_LIB" in os.environ:
        assert paramcrypt.library_path == os.environ["PARAMCRYPT_LIB"]


def test_source_checkout_falls_back_to_target_release() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PARAMCRYPT_LIB"}
    env["PYTHONPATH"] = str(PYTHON_DIR)
    result = run("import paramcrypt; print(paramcrypt.library_path)", env)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == REPO_LIB


def test_missing_library_says_how_to_build_it(tmp_path: Path) -> None:
    env = dict(os.environ, PARAMCRYPT_LIB=str(tmp_path / "nope.so"), PYTHONPATH=str(PYTHON_DIR))
    result = run("import paramcrypt", env)
    assert result.returncode != 0
    assert "LibraryNotFound" in result.stderr and "PARAMCRYPT_LIB" in result.stderr
