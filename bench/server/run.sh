#!/usr/bin/env bash
# Server-side benchmarks P5, P6, P7 (issues 9 and 23). Writes bench/results/parts/P5.json, P6.json and P7.json.
#
#   P5  For each of RUNS runs, ours (`allowly serve --dev`) then the floor (`allowly-floor`, bench/floor: parse, hashed
#       key map, one Ed25519 signature, one row through our commit path), each freshly started on its own SQLite file
#       on loopback, one authorization, one scope:
#         - saturation: wrk, closed loop, CONNECTIONS connections, DURATION s (after a 2 s warm-up);
#         - open loop at each of RATES (default 1,000 / 5,000 / 10,000 checks/s) for DURATION s: p50/p99/p99.9 from
#           each check's scheduled start, non-200 answers by status, achieved vs offered rate
#           (server/examples/check_to_signed.rs `rate`);
#         - ours only: overload, open loop at 2x the saturation rate: p99 of the 200 answers, share of 503s. With 2+
#           cores the server is restarted on core 0 under a CPU quota (OVERLOAD_CPU_PERCENT, 50 % of that core) and
#           the generators run on core 1 (saturation measured again so, `wrk_pinned`): on shared cores, or against a
#           whole core, the generator cannot offer twice what the server answers.
#   P6  check → signed receipt at P6_RATE (1,000/s) (`signed`: raw check + long-poll), and how long allowly-core's
#       `Client::fetch_signed` takes to return after its `check` answered (`fetch`); ours only, in each run.
#   P7  added latency of `allowly mcp proxy` per tool call (tests/e2e/tests/mcp_latency.rs, ignored test, JSON output).
#
# Every figure is the median of RUNS runs with its min/max; every run's numbers, the machine (cores, CPU model) and the
# load average before and after each measurement are kept in "detail". The load generator runs on the same machine as
# the server, so both share its cores (recorded, not hidden).
#
# Usage: bench/server/run.sh   env: RUNS=3 DURATION=10 CONNECTIONS=64 RATES="1000 5000 10000" CARGO=cargo
#                                   OUT=bench/results/parts ALLOWLY_BENCH_DB=postgres://... (default: SQLite files;
#                                   with PostgreSQL each server is started once and serves every run)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
RATES="${RATES:-1000 5000 10000}"
OUT="${OUT:-bench/results/parts}"
CARGO="${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}"
P6_RATE="${P6_RATE:-1000}"
P6_SAMPLES="${P6_SAMPLES:-5000}"
FETCH_RATE="${FETCH_RATE:-100}"
FETCH_SAMPLES="${FETCH_SAMPLES:-1000}"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

echo "== building (release)"
"$CARGO" build --locked --release -q -p allowly-cli --bin allowly -p allowly-bench-floor --bin allowly-floor
"$CARGO" build --locked --release -q -p allowly-server --example check_to_signed
"$CARGO" test --locked --release -q --no-run -p allowly-e2e --test mcp_latency
target="$("$CARGO" metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

tmp="$(mktemp -d)"
declare -A pids=()
# A server is not this shell's child (the helper that started it has exited), so poll instead of `wait`.
stop_server() {
  local pid="${pids[$1]:-}"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  pids[$1]=""
}
cleanup() {
  stop_server ours
  stop_server floor
  release_cgroup
  rm -rf "$tmp"
}
trap cleanup EXIT
# Private copies: the target directory may be shared with other builds that would replace the files mid-run.
cp "$target/release/allowly" "$target/release/allowly-floor" "$target/release/examples/check_to_signed" "$tmp/"
raw="$tmp/raw.jsonl"
: >"$raw"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
note() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@" >>"$raw"; }

db_args=()
if [ -n "${ALLOWLY_BENCH_DB:-}" ]; then
  db_args=(--db "$ALLOWLY_BENCH_DB")
  # The dev key file only exists next to a SQLite file; a throwaway master key for this run's database.
  ALLOWLY_MASTER_KEY="${ALLOWLY_MASTER_KEY:-$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')}"
  export ALLOWLY_MASTER_KEY
fi

# Starts SIDE (ours | floor) the way every test starts a server (tests/support/devserver.py; allowly-floor takes the
# same command line) in a fresh directory, and exports its URL, key and authorization for the load generators.
start_server() {
  local side="$1" run="$2" pin="${3:-}" bin dir
  if [ -n "${ALLOWLY_BENCH_DB:-}" ] && [ -n "${pids[$side]:-}" ]; then
    eval "export ALLOWLY_BASE_URL=\"\$${side}_base\" ALLOWLY_API_KEY=\"\$${side}_key\" ALLOWLY_AUTH_ID=\"\$${side}_auth\""
    return
  fi
  bin="$tmp/allowly"; [ "$side" = floor ] && bin="$tmp/allowly-floor"
  dir="$tmp/$side-$run"
  # Saturation is the point of P5: the server's request rate limits are off for it.
  read -r pid _ < <(RUST_LOG=warn ALLOWLY_RATE_LIMIT_PER_KEY=0 ALLOWLY_RATE_LIMIT_PER_AUTHORIZATION=0 \
    $pin python3 tests/support/devserver.py --binary "$bin" --workdir "$dir" "${db_args[@]}") || true
  [ -n "${pid:-}" ] || { echo "$side did not start"; exit 1; }
  pids[$side]="$pid"
  read -r base key auth < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["base_url"], d["runtime_api_key"], d.get("authorization_id", "-"))' "$dir/ready.json")
  if [ "$side" = ours ]; then
    auth="$(curl -fsS -X POST "$base/v1/authorizations" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d '{"user_id":"bench-user","agent_id":"bench-agent","scopes":["email.read"]}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorization_id"])')"
  fi
  eval "${side}_base=\"\$base\" ${side}_key=\"\$key\" ${side}_auth=\"\$auth\""
  export ALLOWLY_BASE_URL="$base" ALLOWLY_API_KEY="$key" ALLOWLY_AUTH_ID="$auth"
}
finish_server() { [ -n "${ALLOWLY_BENCH_DB:-}" ] || stop_server "$1"; }

# One measurement: its output and the load average just before and after it go into the raw file.
measure() {
  local kind="$1" side="$2" run="$3" rate="$4" lb out; shift 4
  lb="$(loadavg)"
  out="$("$@")"
  note kind "$kind" side "$side" run "$run" rate "$rate" out "$out" load_before "$lb" load_after "$(loadavg)"
  printf '   %s %s run %s%s: %s\n' "$kind" "$side" "$run" "${rate:+ at $rate/s}" "$(echo "$out" | tail -n 1 | cut -c1-200)"
}

OVERLOAD_CONNECTIONS="${OVERLOAD_CONNECTIONS:-1024}"
# Overload of run RUN: open loop at twice the last saturation rate of KIND (wrk, or wrk_pinned), from the generators'
# core when pinned. Enough connections that the excess reaches the server: with the generator's default 128 its own
# backlog grows instead (latency counts from each check's scheduled start) and the server never sees more than its
# in-flight limit, so nothing is shed.
overload() {
  local run="$1" sat
  sat="$(python3 bench/server/parts.py last-wrk "$raw" ours "$2")"
  measure overload ours "$run" "$((2 * sat))" $PIN_LOAD env ALLOWLY_BENCH_CONNECTIONS="$OVERLOAD_CONNECTIONS" \
    "$tmp/check_to_signed" rate "$((2 * sat))" "$DURATION"
}
# The overload step pins the server and the generators to different cores where there are two or more (SQLite only:
# a PostgreSQL server would still share its cores); PIN= (empty) runs it unpinned against the shared-core server.
PIN="${PIN-$( [ "$(nproc)" -ge 2 ] && [ -z "${ALLOWLY_BENCH_DB:-}" ] && command -v taskset >/dev/null && echo 1 || true)}"
PIN_SERVER=""; PIN_LOAD=""
if [ -n "$PIN" ]; then PIN_SERVER="taskset -c 0"; PIN_LOAD="taskset -c 1"; fi
# A pinned server still answers more than one core of the generator can offer twice over (~8,300 against ~11,500/s
# here), so for the overload step it also gets only OVERLOAD_CPU_PERCENT of its core (a CFS quota, cgroup v1 or v2,
# 10 ms period: throttling adds at most ~5 ms to an answer). Empty, or no writable cgroup: pinned only.
OVERLOAD_CPU_PERCENT="${OVERLOAD_CPU_PERCENT-50}"
overload_setup="unpinned"
cgroup=""
# Puts PID under a CPU quota of OVERLOAD_CPU_PERCENT % of one core and says so in overload_setup. Not called in a
# subshell: it sets `cgroup`, which release_cgroup removes.
limit_cpu() {
  local pid="$1" period=10000 quota
  overload_setup="pinned to core 0, no quota"
  [ -n "$OVERLOAD_CPU_PERCENT" ] || return 0
  quota=$((period * OVERLOAD_CPU_PERCENT / 100))
  if [ -w /sys/fs/cgroup/cpu ] && mkdir -p /sys/fs/cgroup/cpu/allowly-bench 2>/dev/null; then
    cgroup=/sys/fs/cgroup/cpu/allowly-bench
    echo "$period" >"$cgroup/cpu.cfs_period_us" && echo "$quota" >"$cgroup/cpu.cfs_quota_us" \
      && echo "$pid" >"$cgroup/cgroup.procs" \
      && { overload_setup="pinned to core 0, CPU quota ${OVERLOAD_CPU_PERCENT} % (cgroup v1)"; return 0; }
  elif [ -w /sys/fs/cgroup/cgroup.subtree_control ] && mkdir -p /sys/fs/cgroup/allowly-bench 2>/dev/null; then
    cgroup=/sys/fs/cgroup/allowly-bench
    echo "$quota $period" >"$cgroup/cpu.max" && echo "$pid" >"$cgroup/cgroup.procs" \
      && { overload_setup="pinned to core 0, CPU quota ${OVERLOAD_CPU_PERCENT} % (cgroup v2)"; return 0; }
  fi
  overload_setup="pinned to core 0, no quota (no writable cgroup)"
}
release_cgroup() { [ -z "$cgroup" ] || rmdir "$cgroup" 2>/dev/null || true; cgroup=""; }
wrk_cmd=(wrk -t2 "-c$CONNECTIONS" "-d${DURATION}s" -s bench/server/check.lua)
for run in $(seq 1 "$RUNS"); do
  for side in ours floor; do
    echo "== run $run/$RUNS: $side"
    start_server "$side" "$run"
    wrk -t2 "-c$CONNECTIONS" -d2s -s bench/server/check.lua "$ALLOWLY_BASE_URL/v1/check" >/dev/null
    measure wrk "$side" "$run" "" "${wrk_cmd[@]}" "$ALLOWLY_BASE_URL/v1/check"
    for rate in $RATES; do
      measure rate "$side" "$run" "$rate" "$tmp/check_to_signed" rate "$rate" "$DURATION"
    done
    if [ "$side" = ours ]; then
      [ -n "$PIN" ] || overload "$run" wrk
      measure signed ours "$run" "$P6_RATE" "$tmp/check_to_signed" signed "$P6_RATE" "$P6_SAMPLES"
      measure fetch ours "$run" "$FETCH_RATE" "$tmp/check_to_signed" fetch "$FETCH_RATE" "$FETCH_SAMPLES"
    fi
    finish_server "$side"
    if [ "$side" = ours ] && [ -n "$PIN" ]; then
      # Overload, with the server on core 0 and the generators on core 1: sharing both cores, the generator cannot
      # offer twice what the server answers (it answered ~11,000/s in all when asked for 2x ~10,000), so its own
      # backlog became the latency. Pinned, the server's capacity is what one core does, measured the same way
      # (wrk, pinned), and the generator's core offers twice that.
      echo "== run $run/$RUNS: ours on core 0, generators on core 1 (overload)"
      start_server ours "$run-pinned" "$PIN_SERVER"
      limit_cpu "${pids[ours]}"
      echo "   overload: server $overload_setup"
      $PIN_LOAD wrk -t1 "-c$CONNECTIONS" -d2s -s bench/server/check.lua "$ALLOWLY_BASE_URL/v1/check" >/dev/null
      measure wrk_pinned ours "$run" "" $PIN_LOAD wrk -t1 "-c$CONNECTIONS" "-d${DURATION}s" -s bench/server/check.lua \
        "$ALLOWLY_BASE_URL/v1/check"
      overload "$run" wrk_pinned
      stop_server ours
      release_cgroup
    fi
  done
done
stop_server ours
stop_server floor

# --- P7: MCP proxy added latency (starts its own server and MCP child) ---
echo "== P7: cargo test --release -p allowly-e2e --test mcp_latency -- --ignored ($RUNS runs)"
for run in $(seq 1 "$RUNS"); do
  lb="$(loadavg)"
  ALLOWLY_BENCH_JSON="$tmp/p7.json" "$CARGO" test --locked --release -q -p allowly-e2e --test mcp_latency \
    -- --ignored --nocapture --test-threads 1 >"$tmp/p7.log" 2>&1 || { cat "$tmp/p7.log"; exit 1; }
  note kind p7 side ours run "$run" rate "" out "$(cat "$tmp/p7.json")" load_before "$lb" load_after "$(loadavg)"
done

mkdir -p "$OUT"
python3 bench/server/parts.py write "$raw" "$OUT" \
  --wrk "${wrk_cmd[*]} URL/v1/check" --runs "$RUNS" --duration "$DURATION" \
  --p6 "check_to_signed signed $P6_RATE $P6_SAMPLES" --fetch "check_to_signed fetch $FETCH_RATE $FETCH_SAMPLES" \
  --floor-lines "$(cat bench/floor/src/*.rs | wc -l)" --overload "$overload_setup"
