#!/usr/bin/env python3
"""Writes vectors.json: webhook deliveries every SDK's verify_webhook must accept or reject, and the scenario
tests/scenarios/webhook_verify.json over the same deliveries. `--check` writes nothing and exits 1 when either
committed file differs from what this script produces (core/tests/webhook_vectors.rs runs it).

Standard library only and no code shared with core/src/webhook: the signatures here are computed independently
(HMAC-SHA256 over "id.timestamp.body", base64). Fixed key and times, so a rerun reproduces the file byte for byte.
"""
import base64
import hashlib
import hmac
import json
import pathlib
import sys

KEY = bytes(range(32, 64))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
WS = "ws_01JCONFORMANCEWEBHOOKS0000"
NOW = 1765000000


def sign(event_id, ts, body, key=KEY):
    mac = hmac.new(key, f"{event_id}.{ts}.".encode() + body.encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def event(event_id="evt_01JCONFORMANCE000000000001", ws=WS, kind="confirmation.resolved", status="approved"):
    return json.dumps({
        "data": {"prompt_id": "cnf_01JCONFORMANCE000000000001", "resolution_receipt_id": "rcp_01JCONFORMANCE00000000002",
                 "source_receipt_id": "rcp_01JCONFORMANCE00000000001", "status": status},
        "id": event_id, "timestamp": "2025-12-06T05:46:40.000Z", "type": kind, "workspace_id": ws,
    }, separators=(",", ":"), sort_keys=True)


def case(name, body, *, event_id="evt_01JCONFORMANCE000000000001", ts=NOW, now=NOW, headers=None, expect="accept",
         error=None, twice=False, note=""):
    headers = headers if headers is not None else [
        ["webhook-id", event_id], ["webhook-timestamp", str(ts)], ["webhook-signature", sign(event_id, ts, body)]]
    out = {"name": name, "note": note, "body": body, "headers": headers, "now": now, "deliver_twice": twice,
           "expect": expect}
    if error:
        out["error"] = error
    return out


good = event()
msg = event(event_id="msg_01JCONFORMANCE000000000009", kind="confirmation.created")
tampered = good.replace('"approved"', '"rejected"')
cases = [
    case("good", good, note="a resolution event as the server sends it"),
    case("good_generic_event", msg, event_id="msg_01JCONFORMANCE000000000009",
         note="the generic webhook's envelope verifies the same way"),
    case("good_header_case_and_extra_signatures", good, headers=[
        ["Webhook-Id", "evt_01JCONFORMANCE000000000001"], ["Webhook-Timestamp", str(NOW)],
        ["Webhook-Signature", "v1a,c2lnbmF0dXJl v1," + base64.b64encode(b"x" * 32).decode() + " "
         + sign("evt_01JCONFORMANCE000000000001", NOW, good)]],
         note="header names in any case; unknown schemes and a wrong v1 next to the right one are ignored"),
    case("good_at_tolerance_edge", good, ts=NOW - 300, note="exactly 300 s old is still inside"),
    case("tampered_body", tampered, headers=[
        ["webhook-id", "evt_01JCONFORMANCE000000000001"], ["webhook-timestamp", str(NOW)],
        ["webhook-signature", sign("evt_01JCONFORMANCE000000000001", NOW, good)]],
         expect="reject", error="webhook_signature_mismatch", note="status changed after signing"),
    case("wrong_secret", good, headers=[
        ["webhook-id", "evt_01JCONFORMANCE000000000001"], ["webhook-timestamp", str(NOW)],
        ["webhook-signature", sign("evt_01JCONFORMANCE000000000001", NOW, good, key=bytes(32))]],
         expect="reject", error="webhook_signature_mismatch"),
    case("stale", good, ts=NOW - 301, expect="reject", error="webhook_timestamp", note="301 s old"),
    case("future", good, ts=NOW + 301, expect="reject", error="webhook_timestamp", note="301 s ahead"),
    case("other_workspace", event(ws="ws_01JSOMEONEELSE0000000000000"), expect="reject",
         error="webhook_workspace_mismatch", note="correctly signed, for another workspace"),
    case("replayed", good, twice=True, expect="reject", error="webhook_replay",
         note="the first delivery is accepted, the same id again is refused"),
    case("missing_signature", good, headers=[
        ["webhook-id", "evt_01JCONFORMANCE000000000001"], ["webhook-timestamp", str(NOW)]],
         expect="reject", error="webhook_malformed"),
    case("duplicate_member", good.replace('{"data"', '{"id":"evt_other","data"', 1), expect="reject",
         error="webhook_malformed", note="signed, but a duplicate member name could show two readers two events"),
]
doc = {
    "description": "Webhook deliveries for verify_webhook(body, headers, secret, expected_workspace_id). Run each "
                   "case with a fresh seen-id store, the given `now` (Unix seconds) and a 300 s tolerance; with "
                   "deliver_twice the first delivery must be accepted and `expect` applies to the second. "
                   "`error` is the core error code (WebhookErrorKind).",
    "secret": SECRET,
    "workspace_id": WS,
    "tolerance_seconds": 300,
    "cases": cases,
}
OUTPUTS = {pathlib.Path(__file__).with_name("vectors.json"): json.dumps(doc, indent=2) + "\n"}

# The cross-language scenario over the same deliveries (tests/scenarios/webhook_verify.json): verify accepts the good
# one once (its replay into the same seen-id store is refused) and refuses tampered, stale and other-workspace ones.
by_name = {c["name"]: c for c in cases}


def verify_step(name, note, seen, expect=None, error=None):
    c = by_name[name]
    step = {"op": "verify_webhook", "note": note,
            "args": {"body": c["body"], "headers": c["headers"], "secret": SECRET, "expected_workspace_id": WS,
                     "now": c["now"], "seen": seen}}
    if expect is not None:
        step["expect"] = expect
    if error is not None:
        step["error"] = {"type": "webhook", "code": error}
    return step


scenario = {
    "$schema": "./schema.json",
    "name": "webhook_verify",
    "description": "verify_webhook (offline, the SDK's receiver side) accepts a good delivery once and refuses its "
                   "replay and tampered, stale and other-workspace deliveries. Generated by "
                   "tests/conformance/webhooks/generate.py from the shared vectors.",
    "covers": ["verify_webhook", "webhook_replay", "webhook_signature_mismatch", "webhook_timestamp",
               "webhook_workspace_mismatch"],
    "steps": [
        verify_step("good", "a resolution event as the server sends it", "receiver",
                    expect={"id": json.loads(good)["id"], "type": "confirmation.resolved", "workspace_id": WS}),
        verify_step("good", "the same delivery again into the same seen-id store", "receiver",
                    error="webhook_replay"),
        verify_step("tampered_body", "status changed after signing", "fresh-1", error="webhook_signature_mismatch"),
        verify_step("stale", "301 s old", "fresh-2", error="webhook_timestamp"),
        verify_step("other_workspace", "correctly signed for another workspace", "fresh-3",
                    error="webhook_workspace_mismatch"),
    ],
}
OUTPUTS[pathlib.Path(__file__).resolve().parents[2] / "scenarios" / "webhook_verify.json"] = (
    json.dumps(scenario, indent=2) + "\n")

if sys.argv[1:] == ["--check"]:
    stale = [str(p) for p, text in OUTPUTS.items() if p.read_text(encoding="utf-8") != text]
    if stale:
        print(f"differs from what generate.py writes (run it and commit): {stale}", file=sys.stderr)
        sys.exit(1)
    print("webhook vectors and scenario: reproduced byte for byte")
else:
    for p, text in OUTPUTS.items():
        p.write_text(text, encoding="utf-8")
