#!/usr/bin/env bash
# Compiles the README's C example, so that it stays true to the header.
#   readme_snippet.sh README.md OUT.c
set -euo pipefail
readme=$1 out=$2
snippet=$(awk '/^```c$/ { inside = 1; next } inside && /^```$/ { exit } inside { print }' "$readme")
[ -n "$snippet" ] || { echo "readme_snippet: no C example in $readme" >&2; exit 1; }
{
  grep '^#include' <<< "$snippet"
  echo '#include <stddef.h>'
  echo '#include <stdint.h>'
  echo '#include <string.h>'
  echo 'void readme_example(const uint8_t *pem, size_t pem_len, const char *peer_ip, const uint8_t *enc_key,'
  echo '                    size_t enc_key_len, const uint8_t *value, size_t value_len);'
  echo 'void readme_example(const uint8_t *pem, size_t pem_len, const char *peer_ip, const uint8_t *enc_key,'
  echo '                    size_t enc_key_len, const uint8_t *value, size_t value_len) {'
  grep -v '^#include' <<< "$snippet"
  echo '}'
} > "$out"
