#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, one after the
# other, and prints a line per target: executions, coverage, result.
#   fuzz/run.sh SECONDS [target ...]
# The corpus grows in fuzz/corpus/<target>; fuzz/seeds/<target> (from
# make_seeds.py) and fuzz/regressions/<target> (inputs that once failed)
# are read too. A failing input is saved in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz/run.sh SECONDS [target ...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
python3 make_seeds.py
cargo +nightly fuzz build -O
failed=()
summary=()
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "logs"
  dirs=("corpus/$target" "seeds/$target")
  [ -d "regressions/$target" ] && dirs+=("regressions/$target")
  log="logs/$target.log"
  echo "fuzz: $target for ${seconds}s"
  status=passed
  # -rss_limit_mb: the RSA targets' resident size, with headroom; -timeout:
  # no input may take a second.
  if ! cargo +nightly fuzz run -O "$target" "${dirs[@]}" -- \
      -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    status=FAILED
    failed+=("$target")
    tail -40 "$log"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  summary+=("$(printf '| %s | %ss | %s | %s | %s | %s | %s |' "$target" "$seconds" "${execs:-?}" \
    "${cov:-?}" "${features:-?}" "${corpus:-?}" "$status")")
done
echo
echo "| target | time | executions | coverage (edges) | features | corpus | result |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
