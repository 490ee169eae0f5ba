#!/usr/bin/env bash
# The native libraries rustc says a static link needs are the ones the
# Makefile pins (so a toolchain change cannot silently break static links).
#   check_native_libs.sh "PINNED FLAGS" CARGO MANIFEST
set -euo pipefail
pinned=$1 cargo=$2 manifest=$3
printed=$("$cargo" rustc --quiet --release --lib --crate-type staticlib --manifest-path "$manifest" \
  -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -1)
if [ -z "$printed" ]; then
  echo "check_native_libs: rustc printed no native-static-libs line" >&2
  exit 1
fi
want=$(tr ' ' '\n' <<< "$pinned" | sort -u | tr '\n' ' ')
got=$(tr ' ' '\n' <<< "$printed" | sort -u | tr '\n' ' ')
if [ "$want" != "$got" ]; then
  echo "check_native_libs: rustc needs: $printed" >&2
  echo "check_native_libs: pinned:      $pinned (update NATIVE_STATIC_LIBS)" >&2
  exit 1
fi
echo "native static libs: $printed"
