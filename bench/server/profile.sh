#!/usr/bin/env bash
# Where a check's time goes: `allowly serve --dev` (release, SQLite) saturated by wrk while `perf record` samples it,
# then the samples grouped by bench/server/perf_breakdown.py. Needs perf (Debian's linux-perf) and wrk.
#
# Usage: bench/server/profile.sh [SECONDS]        env: CARGO=cargo CONNECTIONS=64 ALLOWLY_SQLITE_SYNCHRONOUS=full
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_RUN="${1:-8}"
CONNECTIONS="${CONNECTIONS:-64}"
CARGO="${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}"
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
"$CARGO" build --locked --release -q -p allowly-cli --bin allowly
target="$("$CARGO" metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
tmp="$(mktemp -d)"
pid=""
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
cp "$target/release/allowly" "$tmp/"
read -r pid _ < <(RUST_LOG=warn ALLOWLY_RATE_LIMIT_PER_KEY=0 ALLOWLY_RATE_LIMIT_PER_AUTHORIZATION=0 \
  python3 tests/support/devserver.py --binary "$tmp/allowly" --workdir "$tmp")
read -r base key < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["base_url"], d["runtime_api_key"])' "$tmp/ready.json")
auth="$(curl -fsS -X POST "$base/v1/authorizations" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"user_id":"bench-user","agent_id":"bench-agent","scopes":["email.read"]}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorization_id"])')"
export ALLOWLY_API_KEY="$key" ALLOWLY_AUTH_ID="$auth"
wrk -t2 "-c$CONNECTIONS" -d2s -s bench/server/check.lua "$base/v1/check" >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
perf record -F 1999 -g -o "$tmp/perf.data" -p "$pid" -- sleep "$SECONDS_RUN" >/dev/null 2>&1 &
perf_pid=$!
wrk -t2 "-c$CONNECTIONS" "-d${SECONDS_RUN}s" -s bench/server/check.lua "$base/v1/check" | tail -n 1
wait "$perf_pid" || true
curl -fsS "$base/metrics" | grep -E '^allowly_write_(commits|decisions)_total' || true
python3 bench/server/perf_breakdown.py "$tmp/perf.data"
