#!/usr/bin/env bash
# The shared and static libraries export exactly the functions the header
# declares: no missing export, no undeclared one.
#   check_symbols.sh paramcrypt.h libparamcrypt.so libparamcrypt.a
set -euo pipefail
header=$1 shared=$2 static=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declarations only: skip comment lines, take "name(" at a declaration start
# (after PARAMCRYPT_NODISCARD when it shares the line).
grep -v '^[[:space:]]*//' "$header" \
  | grep -oE '^[A-Za-z0-9_ ]*[ *]paramcrypt_[a-z0-9_]+\(' \
  | grep -oE 'paramcrypt_[a-z0-9_]+\($' | tr -d '(' | sort -u > "$tmp/header"
nm -D --defined-only "$shared" | awk '$2 == "T" { print $3 }' | grep '^paramcrypt_' | sort -u > "$tmp/shared"
nm --defined-only "$static" 2>/dev/null | awk '$2 == "T" { print $3 }' | grep '^paramcrypt_' | sort -u > "$tmp/static"

count=$(wc -l < "$tmp/header")
if [ "$count" -lt 30 ]; then
  echo "check_symbols: only $count declarations found in $header" >&2
  exit 1
fi
status=0
for lib in shared static; do
  if ! diff -u "$tmp/header" "$tmp/$lib" > "$tmp/$lib.diff"; then
    echo "check_symbols: $lib library exports differ from the header (- header, + library):" >&2
    cat "$tmp/$lib.diff" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "symbols: the header's $count functions are exactly what both libraries export"
exit $status
