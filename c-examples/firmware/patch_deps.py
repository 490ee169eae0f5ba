#!/usr/bin/env python3
"""Prepares the size-patched dependencies of the firmware build.

For each patches/<crate>-<version>.patch: checks that the project's Cargo.lock
uses exactly that version, copies the published source (as Cargo downloaded
it) to <out>/<crate>-<version>, applies the patch there, and prints the Cargo
option that points the build at the copy, one per line:

    --config=patch.crates-io.<crate>.path="<out>/<crate>-<version>"

A copy is reused while its patch is unchanged, and copies no patch asks for
are removed. Nothing outside <out> is modified: the project's own builds keep
using the crates as published.
"""
import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

PATCH_NAME = re.compile(r"^(?P<crate>[a-z0-9_-]+?)-(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\.patch$")
STAMP = ".paramcrypt-patch.sha256"


def fail(message: str) -> None:
    sys.exit(f"patch_deps.py: {message}")


def published_sources(root: Path) -> dict:
    """(crate, version) -> source directory, for the registry packages in Cargo.lock."""
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--manifest-path", str(root / "Cargo.toml")],
        capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"cargo metadata failed:\n{out.stderr}")
    return {(p["name"], p["version"]): Path(p["manifest_path"]).parent
            for p in json.loads(out.stdout)["packages"]
            if (p.get("source") or "").startswith("registry+")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="the paramcrypt checkout")
    parser.add_argument("--out", type=Path, required=True, help="where the patched copies go")
    parser.add_argument("--patches", type=Path, default=Path(__file__).resolve().parent / "patches")
    args = parser.parse_args()

    patches = sorted(args.patches.glob("*.patch"))
    if not patches:
        fail(f"no patches in {args.patches}")
    sources = published_sources(args.root.resolve())
    locked = {}
    for crate, version in sources:
        locked.setdefault(crate, []).append(version)

    args.out.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for patch in patches:
        match = PATCH_NAME.match(patch.name)
        if not match:
            fail(f"{patch.name}: expected <crate>-<version>.patch")
        crate, version = match["crate"], match["version"]
        if (crate, version) not in sources:
            fail(f"{patch.name} is for {crate} {version}, but Cargo.lock has "
                 f"{', '.join(locked.get(crate, [])) or 'no such crate'}: port the patch to the locked "
                 "version (see patches/README.md)")
        digest = hashlib.sha256(patch.read_bytes()).hexdigest()
        copy = args.out.resolve() / f"{crate}-{version}"
        wanted.add(copy.name)
        stamp = copy / STAMP
        if not (stamp.is_file() and stamp.read_text() == digest):
            if copy.exists():
                shutil.rmtree(copy)
            shutil.copytree(sources[(crate, version)], copy)
            applied = subprocess.run(["patch", "-p1", "--forward", "--batch", "--quiet", "-d", str(copy),
                                      "-i", str(patch.resolve())], capture_output=True, text=True)
            if applied.returncode != 0:
                fail(f"{patch.name} does not apply:\n{applied.stdout}{applied.stderr}")
            stamp.write_text(digest)
        print(f'--config=patch.crates-io.{crate}.path="{copy}"')

    # Copies of other crates or versions would be picked up by `make test-patches`.
    for stale in args.out.iterdir():
        if stale.is_dir() and stale.name not in wanted:
            shutil.rmtree(stale)


if __name__ == "__main__":
    main()
