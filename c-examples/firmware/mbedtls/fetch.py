#!/usr/bin/env python3
"""Fetches mbedTLS 2.28.3's source for the firmware comparison: the Debian
archive's copy of the upstream release (bookworm's libmbedtls is the same
version), checked against the SHA-256 in Debian's mbedtls_2.28.3-1.dsc,
then unpacked without its top folder.

    fetch.py TARBALL DEST   (downloads TARBALL first if it is missing)
"""
import hashlib
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

URL = "http://deb.debian.org/debian/pool/main/m/mbedtls/mbedtls_2.28.3.orig.tar.gz"
SHA256 = "3b4953aa55a681e084d31892d9904cc5328d6b4958ea57b90ae4b4f94ae69a8d"


def main() -> None:
    tarball, dest = Path(sys.argv[1]), Path(sys.argv[2])
    if not tarball.exists():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".part")
        print(f"fetching {URL}")
        try:
            with urllib.request.urlopen(URL, timeout=120) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as error:
            sys.exit(f"could not fetch mbedTLS's source ({error}); put {URL} at {tarball}")
        partial.rename(tarball)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{tarball}: SHA-256 {digest}, expected {SHA256}; remove it and run again")
    if dest.exists():
        shutil.rmtree(dest)
    staging = dest.with_name(dest.name + ".unpack")
    if staging.exists():
        shutil.rmtree(staging)
    with tarfile.open(tarball) as archive:
        # The digest above pins the contents; the filter (Python 3.11.4 and
        # later) refuses links and paths out of the folder all the same.
        if hasattr(tarfile, "data_filter"):
            archive.extractall(staging, filter="data")
        else:
            archive.extractall(staging)
    (top,) = staging.iterdir()
    top.rename(dest)
    staging.rmdir()


if __name__ == "__main__":
    main()
