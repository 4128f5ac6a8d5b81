#!/usr/bin/env bash
# Runs the test suites with everything they print captured, then greps it all for secrets (scripts/secrets_audit_scan.py).
#
#   scripts/secrets_audit.sh            (make secrets-audit)
#
# Captured: `cargo test` (SQLite + PostgreSQL via scripts/with-postgres.sh) with --nocapture; the logs of the
# `allowly serve` processes the end-to-end tests start (tests/e2e/tests/common copies them to ALLOWLY_TEST_LOG_DIR before its temp
# dir goes); the Python suite with -s and its pytest temp dirs kept (conftest.py logs each server there); the
# bad-input sweep (server log, schemathesis output). Servers run with RUST_LOG=debug.
# Env: SECRETS_AUDIT_DIR (default: a new /tmp dir, kept for inspection), AUDIT_RUST_ARGS (default --workspace),
# AUDIT_PYTHON (the Python with `allowly` installed; default bindings-python/.venv/bin/python),
# AUDIT_SWEEP_EXAMPLES (default 20; 0 skips the sweep). Exit 1 on any secret found or any suite failing.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
CARGO=${CARGO:-cargo}
AUDIT_PYTHON=${AUDIT_PYTHON:-$REPO/bindings-python/.venv/bin/python}
SWEEP_PY=$REPO/tests/reliability/.venv/bin/python
OUT=${SECRETS_AUDIT_DIR:-$(mktemp -d /tmp/allowly-secrets-audit.XXXXXX)}
mkdir -p "$OUT"/rust "$OUT"/cli-servers "$OUT"/python "$OUT"/sweep
export RUST_LOG=debug RUST_BACKTRACE=1 ALLOWLY_TEST_LOG_DIR="$OUT/cli-servers"
failed=()

echo "secrets audit: capturing into $OUT"
# shellcheck disable=SC2086
if ! scripts/with-postgres.sh "$CARGO" test --locked ${AUDIT_RUST_ARGS:---workspace} -- --nocapture \
    >"$OUT/rust/cargo-test.log" 2>&1; then
  failed+=("cargo test (see $OUT/rust/cargo-test.log)")
fi
grep -E '^test result:' "$OUT/rust/cargo-test.log" | awk '{p+=$4; f+=$6} END {print "  rust: " p " passed, " f " failed"}'

if [ -x "$AUDIT_PYTHON" ]; then
  if ! (cd bindings-python && "$AUDIT_PYTHON" -m pytest -q -s -p no:cacheprovider --basetemp="$OUT/python/tmp") \
      >"$OUT/python/pytest.log" 2>&1; then
    failed+=("pytest (see $OUT/python/pytest.log)")
  fi
  echo "  python: $(tail -n 1 "$OUT/python/pytest.log")"
else
  failed+=("no Python at $AUDIT_PYTHON (make python-build)")
fi

if [ "${AUDIT_SWEEP_EXAMPLES:-20}" != 0 ]; then
  if ! SWEEP_OUT="$OUT/sweep" SWEEP_MAX_EXAMPLES="${AUDIT_SWEEP_EXAMPLES:-20}" "$SWEEP_PY" tests/reliability/sweep.py \
      >"$OUT/sweep/sweep.out" 2>&1; then
    failed+=("sweep (see $OUT/sweep/sweep.out)")
  fi
  echo "  sweep: $(grep -E '^  TOTAL' "$OUT/sweep/sweep.out" | tr -s ' ')"
fi
echo "  server logs kept by the CLI tests: $(find "$OUT/cli-servers" -name server.log | wc -l)," \
  "by the Python suite: $(find "$OUT/python" -name server.log | wc -l)," \
  "non-empty: $(find "$OUT" -name server.log -size +0 | wc -l)"

rc=0
"$SWEEP_PY" scripts/secrets_audit_scan.py "$OUT" "$REPO" || rc=1
if [ ${#failed[@]} -gt 0 ]; then
  printf 'suite failed: %s\n' "${failed[@]}"
  rc=1
fi
exit $rc
