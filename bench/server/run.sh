#!/usr/bin/env bash
# Server-side benchmarks P5, P6, P7 (issue 9). Writes bench/results/parts/P5.json, P6.json and P7.json.
#
#   P5  checks/s of `allowly serve --dev` on loopback (SQLite file, one authorization, one scope) at saturation
#       (wrk, closed loop, CONNECTIONS connections), then p99 latency at half that rate (open loop: fixed schedule,
#       latency from each request's scheduled start; server/examples/check_to_signed.rs `rate`).
#   P6  check → signed receipt p50/p99 (`signed`: raw check + long-poll), and how long allowly-core's
#       `Client::fetch_signed` takes to return the signed bytes after its `check` answered (`fetch`).
#   P7  added latency of `allowly mcp proxy` per tool call (tests/e2e/tests/mcp_latency.rs, ignored test, JSON output).
#
# Every figure is the median of RUNS runs; every run's numbers, the machine (cores, CPU model) and the load average
# before and after each figure are kept in "detail". The load generator runs on the same machine as the server, so
# both share its cores (recorded, not hidden).
#
# Usage: bench/server/run.sh            env: RUNS=3 DURATION=10 CONNECTIONS=64 CARGO=cargo OUT=bench/results/parts
#                                            ALLOWLY_BENCH_DB=postgres://... (default: a SQLite file in a temp dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
OUT="${OUT:-bench/results/parts}"
CARGO="${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}"
P6_RATE="${P6_RATE:-200}"
P6_SAMPLES="${P6_SAMPLES:-2000}"
FETCH_RATE="${FETCH_RATE:-100}"
FETCH_SAMPLES="${FETCH_SAMPLES:-1000}"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

echo "== building (release)"
"$CARGO" build --locked --release -q -p allowly-cli --bin allowly
"$CARGO" build --locked --release -q -p allowly-server --example check_to_signed
"$CARGO" test --locked --release -q --no-run -p allowly-e2e --test mcp_latency
target="$("$CARGO" metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

tmp="$(mktemp -d)"
pid=""
# The server is not this shell's child (the helper that started it has exited), so poll instead of `wait`.
stop_server() {
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  if [ -n "$pid" ]; then stop_server; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# Private copies: the target directory may be shared with other builds that would replace the files mid-run.
cp "$target/release/allowly" "$target/release/examples/check_to_signed" "$tmp/"
raw="$tmp/raw.jsonl"
: >"$raw"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
note() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@" >>"$raw"; }

# The dev server, started the way every test starts it (tests/support/devserver.py); it stays up until `kill $pid`.
db_args=()
if [ -n "${ALLOWLY_BENCH_DB:-}" ]; then
  db_args=(--db "$ALLOWLY_BENCH_DB")
  # The dev key file only exists next to a SQLite file; a throwaway master key for this run's database.
  ALLOWLY_MASTER_KEY="${ALLOWLY_MASTER_KEY:-$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')}"
  export ALLOWLY_MASTER_KEY
fi
# Saturation is the point of P5: the server's request rate limits are off for it.
read -r pid _ < <(RUST_LOG=warn ALLOWLY_RATE_LIMIT_PER_KEY=0 ALLOWLY_RATE_LIMIT_PER_AUTHORIZATION=0 python3 tests/support/devserver.py --binary "$tmp/allowly" --workdir "$tmp" "${db_args[@]}") || true
[ -n "$pid" ] || { echo "server did not start"; exit 1; }
read -r base key < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["base_url"], d["runtime_api_key"])' "$tmp/ready.json")
auth="$(curl -fsS -X POST "$base/v1/authorizations" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"user_id":"bench-user","agent_id":"bench-agent","scopes":["email.read"]}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorization_id"])')"
export ALLOWLY_BASE_URL="$base" ALLOWLY_API_KEY="$key" ALLOWLY_AUTH_ID="$auth"

# --- P5: saturation (wrk) ---
wrk_cmd=(wrk -t2 "-c$CONNECTIONS" "-d${DURATION}s" -s bench/server/check.lua "$base/v1/check")
echo "== P5: ${wrk_cmd[*]} (warm-up 3 s, then $RUNS runs)"
wrk -t2 "-c$CONNECTIONS" -d3s -s bench/server/check.lua "$base/v1/check" >/dev/null
note figure P5 event load_before load "$(loadavg)"
for i in $(seq 1 "$RUNS"); do
  line="$("${wrk_cmd[@]}" | tail -n 1)"
  echo "   run $i: $line"
  note figure P5 event wrk line "$line"
done
note figure P5 event load_after load "$(loadavg)"
sat="$(python3 bench/server/parts.py median-wrk "$raw")"

# --- P5: p99 at half the saturation rate (open loop) ---
half=$((sat / 2))
[ "$half" -ge 1 ] || half=1
echo "== P5: p99 at half rate: check_to_signed rate $half $DURATION ($RUNS runs)"
note figure P5_half event load_before load "$(loadavg)"
for i in $(seq 1 "$RUNS"); do
  line="$("$tmp/check_to_signed" rate "$half" "$DURATION")"
  note figure P5_half event run json "$line"
done
note figure P5_half event load_after load "$(loadavg)"

# --- P6: check → signed, and fetch_signed's return time ---
echo "== P6: check_to_signed signed $P6_RATE $P6_SAMPLES; check_to_signed fetch $FETCH_RATE $FETCH_SAMPLES ($RUNS runs)"
note figure P6 event load_before load "$(loadavg)"
for i in $(seq 1 "$RUNS"); do
  note figure P6 event run json "$("$tmp/check_to_signed" signed "$P6_RATE" "$P6_SAMPLES")"
  note figure P6 event fetch json "$("$tmp/check_to_signed" fetch "$FETCH_RATE" "$FETCH_SAMPLES")"
done
note figure P6 event load_after load "$(loadavg)"
stop_server
pid=""

# --- P7: MCP proxy added latency (starts its own server and MCP child) ---
echo "== P7: cargo test --release -p allowly-e2e --test mcp_latency -- --ignored ($RUNS runs)"
note figure P7 event load_before load "$(loadavg)"
for i in $(seq 1 "$RUNS"); do
  ALLOWLY_BENCH_JSON="$tmp/p7.json" "$CARGO" test --locked --release -q -p allowly-e2e --test mcp_latency \
    -- --ignored --nocapture --test-threads 1 >"$tmp/p7.log" 2>&1 || { cat "$tmp/p7.log"; exit 1; }
  note figure P7 event run json "$(cat "$tmp/p7.json")"
done
note figure P7 event load_after load "$(loadavg)"

mkdir -p "$OUT"
python3 bench/server/parts.py write "$raw" "$OUT" \
  --wrk "${wrk_cmd[*]}" --runs "$RUNS" --duration "$DURATION" \
  --p6 "check_to_signed signed $P6_RATE $P6_SAMPLES" --fetch "check_to_signed fetch $FETCH_RATE $FETCH_SAMPLES"
