#!/usr/bin/env bash
# Server throughput and signing latency on loopback: `allowly serve --dev` (release build, SQLite unless
# ALLOWLY_BENCH_DB is a postgres:// URL), one authorization, one scope.
#   1. wrk: checks/s and latency with DURATION seconds of load over CONNECTIONS connections;
#   2. check → signed: p50/p99 from sending a check until its receipt is signed (long-poll), at a steady rate.
# Usage: bench/server_load.sh [DURATION=10] [CONNECTIONS=64]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
CARGO="${CARGO:-cargo}"
command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; ${SUDO:-} apt-get install -y wrk >/dev/null; }
"$CARGO" build --locked --release -q -p allowly-cli --bin allowly
"$CARGO" build --locked --release -q -p allowly-server --example check_to_signed
tmp="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
db="${ALLOWLY_BENCH_DB:-sqlite://$tmp/bench.db}"
RUST_LOG=warn target/release/allowly serve --dev --db "$db" --listen 127.0.0.1:0 --ready-file "$tmp/ready.json" \
  >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/ready.json" ] && break; sleep 0.05; done
[ -s "$tmp/ready.json" ] || { echo "server did not start"; cat "$tmp/server.log"; exit 1; }
read -r base key < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["base_url"], d["runtime_api_key"])' "$tmp/ready.json")
auth="$(curl -fsS -X POST "$base/v1/authorizations" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"user_id":"bench-user","agent_id":"bench-agent","scopes":["email.read"]}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorization_id"])')"
echo "== wrk: POST /v1/check, one scope, ${CONNECTIONS} connections, ${DURATION}s ($(nproc) cores, db ${db%%:*})"
ALLOWLY_API_KEY="$key" ALLOWLY_AUTH_ID="$auth" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/server/check.lua "$base/v1/check" \
  | tail -n 1
echo "== check → signed receipt"
ALLOWLY_BASE_URL="$base" ALLOWLY_API_KEY="$key" ALLOWLY_AUTH_ID="$auth" target/release/examples/check_to_signed
