#!/usr/bin/env python3
"""Prints RSA-2048 unwraps per second with 1, 2 and 4 threads sharing one
KeyPair: ctypes releases the GIL during each call, so throughput should grow
with the threads up to the number of cores.

    python3 python/examples/bench_threads.py [--seconds 2]
"""
import argparse
import importlib.util
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if importlib.util.find_spec("paramcrypt") is None:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paramcrypt import KeyPair, Session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    key = KeyPair.generate(2048)
    enc_key = Session.new().wrap(key.public_key())

    def worker(deadline: float) -> int:
        count = 0
        while time.perf_counter() < deadline:
            key.unwrap(enc_key).close()
            count += 1
        return count

    print(f"{os.cpu_count()} CPUs; RSA-2048 unwraps per second, one shared KeyPair:")
    base = None
    for threads in (1, 2, 4):
        deadline = time.perf_counter() + args.seconds
        with ThreadPoolExecutor(threads) as pool:
            total = sum(pool.map(worker, [deadline] * threads))
        rate = total / args.seconds
        base = base or rate
        print(f"  {threads} thread(s): {rate:8.0f}/s  ({rate / base:.2f}x)")


if __name__ == "__main__":
    main()
