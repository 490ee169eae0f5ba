"""Run by `make test-wheel` with the interpreter of a fresh virtual
environment holding only the wheel: the package loads the library it
carries (no PARAMCRYPT_LIB, no repository build) and runs a round trip."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import paramcrypt


def main() -> int:
    assert "PARAMCRYPT_LIB" not in os.environ
    package_dir = Path(paramcrypt.__file__).resolve().parent
    library = Path(paramcrypt.library_path).resolve()
    assert library.parent == package_dir, f"loaded {library}, not the wheel's copy in {package_dir}"
    assert Path(sys.prefix).resolve() in package_dir.parents, "paramcrypt is not the venv's"
    server = paramcrypt.Server(paramcrypt.KeyPair.generate(2048))
    client = paramcrypt.Session.new()
    enc_key = client.wrap(paramcrypt.PublicKey.from_base64(server.public_key_base64()))
    with server.open(enc_key, peer="127.0.0.1") as session:
        assert session.decrypt(client.encrypt("from the wheel")) == b"from the wheel"
        assert client.decrypt(session.encrypt("reply")) == b"reply"
    assert paramcrypt.library_version() == paramcrypt.__version__
    print(f"wheel round trip OK with {library.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
