#!/usr/bin/env bash
# Compiles the README's C examples, so that they stay true to the header:
# every ```c block becomes the body of a function whose parameters are the
# inputs the examples use (each is marked used, so that -Wextra is quiet).
#   readme_snippet.sh README.md OUT.c
set -euo pipefail
readme=$1 out=$2
# A block with its own main() is a whole program (device.c, which
# `make test-device` compares with the README and runs); the rest are bodies.
blocks=$(awk '/^```c$/ { inside = 1; n++; block = ""; next }
  inside && /^```$/ { inside = 0; if (block !~ /int main\(/) printf "%s", block; else n--; next }
  inside { block = block n "\t" $0 "\n" }' "$readme")
count=$(cut -f1 <<< "$blocks" | sort -u | grep -c . || true)
[ "$count" -gt 0 ] || { echo "readme_snippet: no C example in $readme" >&2; exit 1; }
params='const uint8_t *pem, size_t pem_len, const char *peer_ip, const uint8_t *enc_key, size_t enc_key_len, const uint8_t *value, size_t value_len'
{
  cut -f2- <<< "$blocks" | grep '^#include' | sort -u
  echo '#include <stddef.h>'
  echo '#include <stdint.h>'
  echo '#include <string.h>'
  for n in $(seq 1 "$count"); do
    echo "void readme_example_$n($params);"
    echo "void readme_example_$n($params) {"
    echo '    (void)pem; (void)pem_len; (void)peer_ip; (void)enc_key; (void)enc_key_len; (void)value; (void)value_len;'
    awk -F'\t' -v n="$n" '$1 == n { sub(/^[^\t]*\t/, ""); print }' <<< "$blocks" | grep -v '^#include'
    echo '}'
  done
} > "$out"
echo "readme_snippet: $count C examples"
