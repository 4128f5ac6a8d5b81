#!/usr/bin/env bash
# make demo: the whole Allowly lifecycle of seed 000 against a real server on this machine.
#
# It starts `allowly serve --dev` on a free port with a throwaway SQLite database, runs the seed's walkthrough in
# Python (bindings-python/examples/walkthrough.py through the `allowly` package: create → check → confirm → approve →
# re-check → budget → settle → revoke → deny → fetch signed receipts → verify offline → tamper), then the current
# official way (bindings-python/examples/policy_edition.py: an authorization granted from the dev server's demo policy
# edition, whose receipts are wire 5), then has the `allowly` CLI re-verify every receipt of both wires offline. The server is stopped and the temp dir removed however the script
# ends. `make demo` installs the package first; the Rust walkthrough (tests/e2e/examples/walkthrough.rs) stays as a test.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO="${CARGO:-$(command -v cargo 2>/dev/null || echo "$HOME/.cargo/bin/cargo")}"
TARGET="${CARGO_TARGET_DIR:-target}"
READY_TIMEOUT_SECONDS="${ALLOWLY_DEMO_READY_TIMEOUT:-60}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

PYTHON="${DEMO_PYTHON:-bindings-python/.venv/bin/python}"
if ! "$PYTHON" -c 'import allowly' 2>/dev/null; then
  echo "demo needs the openallowly Python package (import name allowly): run \`make demo\` (it builds and installs it into bindings-python/.venv)" >&2
  exit 1
fi

step "Build the allowly CLI"
"$CARGO" build --locked -p allowly-cli --bin allowly
bin_dir="$(cd "$TARGET/debug" && pwd)"
ALLOWLY="$bin_dir/allowly"

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # A graceful stop lets the server close SQLite cleanly; give up waiting after 5 s.
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_server_log() {
  echo "---- server log ($work/server.log) ----" >&2
  cat "$work/server.log" >&2 || true
  echo "--------------------------------------" >&2
}

step "Start allowly serve --dev (temporary SQLite database, free port)"
"$ALLOWLY" serve --dev --db "sqlite://$work/demo.db" --listen 127.0.0.1:0 --ready-file "$work/ready.json" \
  >"$work/server.log" 2>&1 &
server_pid=$!
deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
until [[ -s "$work/ready.json" ]]; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" && status=0 || status=$?
    server_pid=""
    echo "demo failed: allowly serve exited (status $status) before it was ready" >&2
    show_server_log
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "demo failed: allowly serve wrote no ready file within ${READY_TIMEOUT_SECONDS}s" >&2
    show_server_log
    exit 1
  fi
  sleep 0.1
done
workspace_id="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["workspace_id"])' "$work/ready.json")"
base_url="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["base_url"])' "$work/ready.json")"
echo "listening on $base_url (pid $server_pid), workspace $workspace_id"

step "The seed 000 lifecycle in Python (the allowly package over allowly-core)"
if ! "$PYTHON" bindings-python/examples/walkthrough.py "$work/ready.json" --export "$work/export"; then
  echo "demo failed: the walkthrough did not complete as documented" >&2
  show_server_log
  exit 1
fi

step "The current official way: an authorization granted from a policy edition (wire-5 receipts)"
if ! "$PYTHON" bindings-python/examples/policy_edition.py "$work/ready.json" --export "$work/export"; then
  echo "demo failed: the policy-edition example did not complete as documented" >&2
  show_server_log
  exit 1
fi

step "Stop the server"
stop_server
echo "stopped; everything below runs offline"

step "The same receipts, wire 4 and wire 5, re-verified offline by the allowly CLI"
cd "$work/export"
"$ALLOWLY" export verify --keys keys.json --workspace-id "$workspace_id" receipts.jsonl
"$ALLOWLY" receipt verify --keys keys.json --workspace-id "$workspace_id" wire5.json
if "$ALLOWLY" receipt verify --keys keys.json --workspace-id "$workspace_id" tampered.json 2>tampered.err; then
  echo "demo failed: the CLI accepted a tampered receipt" >&2
  exit 1
fi
echo "exit 1 for the tampered copy: $(cat tampered.err)"
cd - >/dev/null

printf '\nDemo finished: the full lifecycle ran against a real server, and every signed receipt verified offline.\n'
