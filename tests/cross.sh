#!/usr/bin/env bash
# The library on ARM Linux, under qemu-user: cross-builds the C library
# (static and shared) and the CLI for one target with the Debian cross
# compiler, then runs under emulation
#   - the C suites (test_api, test_threads) against both libraries,
#   - the Rust integration tests that use stored keys (key generation is
#     the slowest thing under emulation: only the few in those suites run),
#   - the CLI's worked example from the README,
# and checks which RSA backend the build has.
#
#   tests/cross.sh aarch64-unknown-linux-gnu aws-lc
#   tests/cross.sh armv7-unknown-linux-gnueabihf rsa-crate
#
# Needs: rustup target TARGET, gcc-<triple>, libc6-dev-<arch>-cross and
# qemu-user (.ci/run installs them).
set -euo pipefail
target=$1
expected_backend=$2
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

case $target in
  aarch64-unknown-linux-gnu) triple=aarch64-linux-gnu qemu=qemu-aarch64 ;;
  armv7-unknown-linux-gnueabihf) triple=arm-linux-gnueabihf qemu=qemu-arm ;;
  *) echo "cross.sh: unknown target $target" >&2; exit 2 ;;
esac
sysroot=/usr/$triple
upper=$(echo "$target" | tr 'a-z-' 'A-Z_')
lower=$(echo "$target" | tr '-' '_')
export "CARGO_TARGET_${upper}_LINKER=$triple-gcc"
export "CARGO_TARGET_${upper}_RUNNER=$qemu -L $sysroot"
export "CC_${lower}=$triple-gcc" "AR_${lower}=$triple-ar"
run() { "$qemu" -L "$sysroot" "$@"; }

start=$(date +%s)
cargo build --quiet --release --target "$target" -p paramcrypt -p paramcrypt-cli
lib=$root/target/$target/release
ln -sf libparamcrypt.so "$lib/libparamcrypt.so.0"  # the SONAME (build.rs)
build=$root/target/cross-$target
mkdir -p "$build"

# The C suites, as c-examples builds them natively.
flags=(-std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -D_DEFAULT_SOURCE -I"$root/include")
for suite in api threads; do
  "$triple-gcc" "${flags[@]}" "c-examples/tests/test_$suite.c" -L"$lib" -lparamcrypt -lpthread \
    -o "$build/test_${suite}_shared"
  "$triple-gcc" "${flags[@]}" "c-examples/tests/test_$suite.c" "$lib/libparamcrypt.a" \
    -lutil -lrt -lpthread -lm -ldl -lc -o "$build/test_${suite}_static"
done
export PARAMCRYPT_EXPECT_BACKEND=$expected_backend
for linkage in shared static; do
  (cd c-examples && run -E LD_LIBRARY_PATH="$lib" "$build/test_api_$linkage" "$root/tests/data" | tail -1)
  (cd c-examples && run -E LD_LIBRARY_PATH="$lib" "$build/test_threads_$linkage" "$root/tests/data" 4 4 | tail -1)
done

# The CLI's worked example (README, "Command line").
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cli=$lib/paramcrypt
run "$cli" keygen --out "$work/server.pem"
run "$cli" pubkey --key "$work/server.pem" > "$work/pubkey.b64"
printf 'correct horse' > "$work/secret.txt"
run "$cli" request --pubkey "$work/pubkey.b64" --method sendSecretData \
  --param user=alice --secret "secretData1=@$work/secret.txt" > "$work/request.json"
run "$cli" open --key "$work/server.pem" "$work/request.json" > "$work/opened.json"
grep -q '"correct horse"' "$work/opened.json"
echo "cli: keygen, pubkey, request and open round-trip"

# The Rust integration tests with stored keys, through cargo's runner.
if ! cargo test --quiet --release --target "$target" -p paramcrypt-core \
  --test roundtrip --test rsa_backends --test interop --test bad_input --test keys \
  --test wycheproof --test protocol_flow > "$build/rust-tests.log" 2>&1; then
  cat "$build/rust-tests.log"
  exit 1
fi
grep -c '^test result: ok' "$build/rust-tests.log" | sed 's/$/ Rust integration suites passed/'

# The compact RSA's arithmetic with the Arm assembly row (feature umaal) and
# the Rust row compared on random rows: Arm targets only.
if [ "$qemu" = qemu-arm ]; then
  if ! cargo test --release --target "$target" -p paramcrypt-core --no-default-features \
      --features std,umaal --lib compact::bignum > "$build/umaal-tests.log" 2>&1 \
      || ! grep -q 'the_umaal_row_matches_the_rust_row \.\.\. ok' "$build/umaal-tests.log"; then
    cat "$build/umaal-tests.log"
    exit 1
  fi
  grep '^test result' "$build/umaal-tests.log" | sed 's/^/umaal row and Montgomery arithmetic: /'
fi

echo "cross $target: C suites, CLI and Rust integration tests passed under $qemu" \
  "(RSA backend $expected_backend; $(($(date +%s) - start)) s under emulation)"
