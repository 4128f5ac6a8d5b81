#!/usr/bin/env bash
# make demo (foundation stage): the offline half of the Allowly lifecycle with the `allowly` CLI —
# derive a pseudonymous user id, verify signed receipts against a workspace key document, catch a tampered one,
# and batch-verify an export. Once allowly-server lands, this grows into the full create → check → confirm →
# approve → re-check → fetch signed → verify → revoke lifecycle against a real embedded server.
set -euo pipefail
cd "$(dirname "$0")/.."
ALLOWLY="${ALLOWLY_BIN:-target/debug/allowly}"
VECTORS=tests/conformance/receipt-format-v4/test-vectors.json
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

python3 - "$VECTORS" "$work" <<'PY'
import json, sys, pathlib
vectors = json.load(open(sys.argv[1], encoding="utf-8"))
out = pathlib.Path(sys.argv[2])
(out / "keys.json").write_text(json.dumps(vectors["public_keys"], indent=2))
(out / "valid").mkdir(); (out / "invalid").mkdir()
for v in vectors["should_verify"]:
    (out / "valid" / f"{v['name']}.json").write_text(json.dumps(v["receipt"], indent=2, ensure_ascii=False))
for v in vectors["should_reject"]:
    (out / "invalid" / f"{v['name']}.json").write_text(json.dumps(v["receipt"], indent=2))
with open(out / "export.jsonl", "w") as f:
    for v in vectors["should_verify"]:
        f.write(json.dumps(v["receipt"], ensure_ascii=False, separators=(",", ":")) + "\n")
tampered = dict(vectors["should_verify"][0]["receipt"], decision="deny")
(out / "tampered.json").write_text(json.dumps(tampered, indent=2))
PY

step "1. A pseudonymous user id (the pepper comes from the environment, never an argument)"
ALLOWLY_PII_PEPPER="demo-pepper-change-me" "$ALLOWLY" id from-email "  Alice@Example.COM "

step "2. Verify signed receipts offline against the workspace key document"
"$ALLOWLY" receipt verify --keys "$work/keys.json" --workspace-id ws_test "$work"/valid/*.json

step "3. A tampered receipt is rejected (exit code 1, reason on stderr)"
if "$ALLOWLY" receipt verify --keys "$work/keys.json" --workspace-id ws_test "$work/tampered.json"; then
  echo "demo failed: a tampered receipt verified" >&2; exit 1
fi

step "4. Every malformed receipt of the public vectors is rejected with its reason"
rejected=0
for f in "$work"/invalid/*.json; do
  if "$ALLOWLY" receipt verify --keys "$work/keys.json" --workspace-id ws_test "$f" 2>>"$work/reasons.txt" >/dev/null; then
    echo "demo failed: $f verified" >&2; exit 1
  fi
  rejected=$((rejected + 1))
done
head -n 5 "$work/reasons.txt"
echo "… $rejected receipts rejected in all"

step "5. Batch-verify a whole export"
"$ALLOWLY" export verify --keys "$work/keys.json" --workspace-id ws_test "$work/export.jsonl"

printf '\nDemo finished: identifiers, offline verification, tamper detection and export verification all worked.\n'
