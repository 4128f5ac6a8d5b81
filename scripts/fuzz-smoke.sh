#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS (default 60) one after another, seeded from fuzz/seeds/<target>/ with
# libFuzzer's working corpus in fuzz/corpus/<target>/ (gitignored), and prints executions per target from libFuzzer's
# final stats. Exits non-zero if any target crashed, failed a property or did not report its run count.
# Used by `make fuzz-smoke`; CARGO, FUZZ_SECONDS, FUZZ_TARGETS and FUZZ_SANITIZER come from the environment.
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-json_canonical verify_bytes verify_mutate key_document server_body}
SANITIZER=${FUZZ_SANITIZER:-none}
LOGS=fuzz/artifacts/logs
mkdir -p "$LOGS"

# One build of every target (release, debug assertions on), then the binaries run directly: `cargo fuzz run` would
# re-enter cargo (and its target-directory lock) once per target.
(cd fuzz && "$CARGO" +nightly fuzz build -s "$SANITIZER") || exit 1
bin_dir="$(cd fuzz && "$CARGO" +nightly metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

failed=0
summary=()
for t in $TARGETS; do
  mkdir -p "fuzz/corpus/$t"
  log="$LOGS/$t.log"
  echo "fuzz $t for ${SECONDS_PER_TARGET}s (log: $log)"
  mkdir -p "fuzz/artifacts/$t"
  "$bin_dir/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -artifact_prefix="fuzz/artifacts/$t/" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  # libFuzzer prints "Done N runs in S second(s)" when time runs out and stat::number_of_executed_units always.
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ -z "$runs" ]; then
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    summary+=("$(printf '%-16s %12s runs  corpus %6s  FAILED (exit %s) %s' "$t" "${runs:-?}" "$corpus" "$rc" "$artifact")")
    grep -m5 -E "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | sed 's/^/    /'
  else
    summary+=("$(printf '%-16s %12s runs  corpus %6s  ok' "$t" "$runs" "$corpus")")
  fi
done

echo
echo "fuzz-smoke summary (${SECONDS_PER_TARGET}s per target, sanitizer: $SANITIZER)"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz-smoke: FAILED; reproduce with: (cd fuzz && cargo +nightly fuzz run -s $SANITIZER <target> ../<artifact>); keep the input under fuzz/regressions/<target>/"
  exit 1
fi
echo "fuzz-smoke: every target ran without a crash"
