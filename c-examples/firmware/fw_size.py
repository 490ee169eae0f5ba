#!/usr/bin/env python3
"""Prints the firmware's budget: flash and static RAM (from the ELF files),
the library's own share (from the linker maps), heap and stack high-water
marks and instruction counts (from the QEMU runs), and where the library's
bytes go. Run by `make size` after building and running both images.
"""
import argparse
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

FLASH_SECTIONS = (".vectors", ".text", ".ARM.extab", ".ARM.exidx", ".rodata", ".preinit_array",
                  ".init_array", ".fini_array", ".data")
LIBRARY = "libparamcrypt.a("
# The server path was 64 KiB before it ran on the server object (the encKey
# cache, the refusals, their keyed digests and locks: +5.3 KiB, 67.9 KiB in
# all). The guard keeps 2 KiB of margin: the same commit links a few bytes
# larger or smaller in another checkout (symbol hashes follow the path), and a
# fresh CI machine once measured it over a 68 KiB line that this machine met.
TARGETS = {"server_flash": 70 * 1024, "keygen_flash": 96 * 1024, "heap": 8 * 1024, "stack": 8 * 1024}


def section_sizes(elf: Path) -> dict:
    out = subprocess.run(["arm-none-eabi-readelf", "-SW", str(elf)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for match in re.finditer(r"\]\s+(\.\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", out):
        sizes[match.group(1)] = int(match.group(2), 16)
    return sizes


def map_contributions(map_file: Path):
    """(per output section, bytes from the library) and (per symbol, bytes)."""
    lines = map_file.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Linker script and memory map"))
    per_section = defaultdict(int)
    per_symbol = defaultdict(int)
    output_section = None
    pending = None
    for line in lines[start + 1:]:
        if line.startswith("."):
            output_section = line.split()[0]
            pending = None
            continue
        if not line.startswith(" "):
            continue
        fields = line.split()
        if not fields:
            continue
        if len(fields) == 1 and (fields[0].startswith(".") or fields[0] == "COMMON"):
            pending = fields[0]
            continue
        if pending is not None and len(fields) >= 3 and fields[0].startswith("0x"):
            name, addr, size, source = pending, fields[0], fields[1], " ".join(fields[2:])
        elif len(fields) >= 4 and (fields[0].startswith(".") or fields[0] == "COMMON") and fields[1].startswith("0x"):
            name, addr, size, source = fields[0], fields[1], fields[2], " ".join(fields[3:])
        else:
            pending = None
            continue
        pending = None
        if LIBRARY not in source or not size.startswith("0x"):
            continue
        nbytes = int(size, 16)
        if nbytes == 0:
            continue
        per_section[output_section] += nbytes
        symbol = re.sub(r"^\.(text|rodata|data|bss)\.", "", name)
        per_symbol[(output_section, symbol)] += nbytes
    return per_section, per_symbol


def demangle(names):
    try:
        out = subprocess.run(["arm-none-eabi-c++filt"], input="\n".join(names), capture_output=True, text=True,
                             check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return list(names)
    return [re.sub(r"::h[0-9a-f]{16}$", "", n) for n in out]


def crate_of(name: str) -> str:
    """The crate a demangled item belongs to (the first path segment; for
    trait impls `<T as a::B>` the trait's crate)."""
    if name.startswith("paramcrypt_"):
        return "paramcrypt"
    if name.startswith(("memset", "memcpy", "memmove", "__aeabi", "compiler_builtins")):
        return "compiler_builtins"
    if name.startswith((".L", "str", "anon")):
        return "(constants)"
    match = re.search(r"([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::", name)
    return match.group(1) if match else "(other)"


def measures(log: Path) -> dict:
    values = {}
    for line in log.read_text().splitlines():
        if line.startswith("measure "):
            key, value = line[len("measure "):].split("=", 1)
            values[key] = int(value)
    if not re.search(r"firmware: \d+ passed, 0 failed", log.read_text()):
        sys.exit(f"{log}: the firmware run did not pass")
    return values


def kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", type=Path, default=Path("build/patched"))
    parser.add_argument("--deps", choices=("patched", "upstream"), default="patched",
                        help="how the library was built (only printed)")
    parser.add_argument("--check-budget", action="store_true",
                        help="exit with status 1 when a figure is over its target")
    args = parser.parse_args()
    b = args.build

    rows = []
    library = {}
    for image, label in (("fw_server", "server path"), ("fw", "with key generation")):
        sizes = section_sizes(b / f"{image}.elf")
        flash = sum(sizes.get(s, 0) for s in FLASH_SECTIONS)
        ram = sizes.get(".data", 0) + sizes.get(".bss", 0)
        per_section, per_symbol = map_contributions(b / f"{image}.map")
        lib_flash = sum(per_section.get(s, 0) for s in FLASH_SECTIONS)
        library[image] = (lib_flash, per_section, per_symbol)
        rows.append((label, flash, ram, lib_flash, per_section))

    run = measures(b / "run.log")
    measures(b / "run-server.log")

    deps = "the patches in patches/ applied" if args.deps == "patched" else "the crates as published"
    print(f"Firmware budget (QEMU mps2-an386, Cortex-M4F; library built with the `firmware` profile, "
          f"dependencies: {deps})\n")
    print("| image | flash (.text+.rodata+.data) | static RAM (.data+.bss) | library's flash share | target |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for (label, flash, ram, lib_flash, _), target in zip(rows, (TARGETS["server_flash"], TARGETS["keygen_flash"])):
        verdict = "ok" if lib_flash <= target else "OVER"
        print(f"| {label} | {flash} B ({kib(flash)}) | {ram} B | {lib_flash} B ({kib(lib_flash)}) "
              f"| ≤ {kib(target)}: {verdict} |")

    heap, stack = run["unwrap_decrypt_heap_peak_bytes"], run["unwrap_decrypt_stack_bytes"]
    cached, unwrap = run["cached_open_instructions"], run["rsa2048_unwrap_instructions"]
    flash_targets = (TARGETS["server_flash"], TARGETS["keygen_flash"])
    over = [row[0] for row, target in zip(rows, flash_targets) if row[3] > target]
    over += [name for name, value in (("heap", heap), ("stack", stack)) if value > TARGETS[name]]
    if cached * 100 >= unwrap:
        over.append("cached open (target: under 1% of an unwrap)")
    print("\n| RSA-2048 unwrap + parameter decrypt | measured | target |")
    print("| --- | ---: | ---: |")
    print(f"| heap high-water mark | {heap} B | ≤ 8 KiB: {'ok' if heap <= TARGETS['heap'] else 'OVER'} |")
    print(f"| stack high-water mark | {stack} B | ≤ 8 KiB: {'ok' if stack <= TARGETS['stack'] else 'OVER'} |")
    print(f"| key pair resident on the heap | {run['key_pair_heap_bytes']} B | |")
    print(f"| server resident on the heap (key pair, 4 sessions, 256 refusals) | {run['server_heap_bytes']} B | |")

    print("\n| operation (`-icount shift=0`) | instructions | at 100 MHz, 1 instr/cycle |")
    print("| --- | ---: | ---: |")
    for key, label in (("key_load", "PKCS#8 key load (2048-bit)"), ("rsa2048_unwrap", "RSA-2048 encKey unwrap"),
                       ("cached_open", "encKey open from the cache (a later request)"),
                       ("param_1kib_decrypt", "1 KiB parameter decrypt"),
                       ("rsa2048_keygen", "RSA-2048 key generation (one run; varies with the RNG)")):
        n = run[f"{key}_instructions"]
        print(f"| {label} | {n:,} | {n / 100e6 * 1000:.1f} ms |")

    for image, label in (("fw_server", "server path"), ("fw", "with key generation")):
        _, _, per_symbol = library[image]
        items = [(size, sym) for (sec, sym), size in per_symbol.items() if sec in FLASH_SECTIONS]
        by_crate = defaultdict(int)
        for (size, _), name in zip(items, demangle([sym for _, sym in items])):
            by_crate[crate_of(name)] += size
        print(f"\nLibrary flash by crate, {label}: " +
              ", ".join(f"{crate} {kib(size)}" for crate, size in sorted(by_crate.items(), key=lambda kv: -kv[1])
                        if size >= 512))

    lib_flash, per_section, per_symbol = library["fw_server"]
    print("\nLibrary share by section, server path: " +
          ", ".join(f"{s} {per_section[s]} B" for s in sorted(per_section) if s in FLASH_SECTIONS + (".bss",)))
    top = sorted(((size, sec, sym) for (sec, sym), size in per_symbol.items() if sec in FLASH_SECTIONS),
                 reverse=True)[:20]
    names = demangle([sym for _, _, sym in top])
    print("\nLargest library items, server path:\n")
    print("| bytes | section | item |")
    print("| ---: | --- | --- |")
    for (size, sec, _), name in zip(top, names):
        print(f"| {size} | {sec} | `{name[:90]}` |")

    if args.check_budget and over:
        figures = (f"library flash {rows[0][3]} B server path, {rows[1][3]} B with key generation; "
                   f"heap {heap} B, stack {stack} B; cached open {cached:,} vs unwrap {unwrap:,} instructions")
        sys.exit(f"\nover budget: {', '.join(over)}\nmeasured: {figures}\n(targets: library flash "
                 f"{kib(TARGETS['server_flash'])} server path, {kib(TARGETS['keygen_flash'])} with key generation; "
                 "heap and stack 8 KiB each)")


if __name__ == "__main__":
    main()
