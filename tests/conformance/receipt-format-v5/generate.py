#!/usr/bin/env python3
"""Writes test-vectors.json: the Allowly Receipt Format wire-5 vectors of this repository.

Independent of the Rust verifier on purpose: only the standard library and `cryptography` (Ed25519), with its own
canonical JSON writer and fixed key seeds, so the output is deterministic (Ed25519 signatures are) and regenerating
reproduces the committed file byte for byte.

    python3 tests/conformance/receipt-format-v5/generate.py           # rewrite test-vectors.json
    python3 tests/conformance/receipt-format-v5/generate.py --check   # exit 1 if the committed file differs
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

OUT = Path(__file__).resolve().parent / "test-vectors.json"
WORKSPACE = "ws_test"
NOW = "2026-11-23T00:00:00.000Z"
MAX_SAFE = 2**53 - 1


# ---------------------------------------------------------------- canonical JSON (the format's rules, written here)

def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical_text(v) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical_text(x) for x in v) + "]"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: _utf16_key(kv[0]))
        return "{" + ",".join(_string(k) + ":" + canonical_text(x) for k, x in items) + "}"
    raise TypeError(f"cannot write {type(v).__name__} canonically")


def canonical(v) -> bytes:
    return canonical_text(v).encode("utf-8")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# ---------------------------------------------------------------- keys (fixed seeds)

def _key(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"allowly receipt-format v5 test key " + label.encode()).digest())


K1, K2, K_OTHER = _key("v1"), _key("v2"), _key("unpublished")
KID1, KID2 = "test-key/v1", "test-key/v2"
ROTATION = "2026-07-01T00:00:00.000Z"


def public_entry(kid: str, key: Ed25519PrivateKey, active_from: str, active_until) -> dict:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "key_id": kid,
        "alg": "Ed25519",
        "public_key": b64u(raw),
        "public_key_fingerprint": "sha256:" + hashlib.sha256(raw).hexdigest(),
        "active_from": active_from,
        "active_until": active_until,
    }


PUBLIC_KEYS = {
    "workspace_id": WORKSPACE,
    "keys": [
        public_entry(KID1, K1, "2026-01-01T00:00:00.000Z", ROTATION),
        public_entry(KID2, K2, ROTATION, None),
    ],
}


# ---------------------------------------------------------------- signing

def header(kid: str) -> dict:
    return {"alg": "EdDSA", "kid": kid, "typ": "allowly-receipt+jws"}


def jws_raw(protected_bytes: bytes, payload_bytes: bytes, key: Ed25519PrivateKey) -> dict:
    """Signs exactly the given header and payload bytes (canonical or not)."""
    protected, payload = b64u(protected_bytes), b64u(payload_bytes)
    signature = key.sign(f"{protected}.{payload}".encode("ascii"))
    return {"protected": protected, "payload": payload, "signature": b64u(signature)}


def jws(payload: dict, kid: str = KID1, key: Ed25519PrivateKey = K1) -> dict:
    return jws_raw(canonical(header(kid)), canonical(payload), key)


# ---------------------------------------------------------------- payloads

def sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


ENGINE = "sha256:" + sha("allowly engine manifest (test vectors)")
POLICY_REF = {"policy_id": "pol_outreach", "policy_version": 3, "definition_sha256": sha("pol_outreach v3")}


def action(**over) -> dict:
    p = {
        "schema_version": "5",
        "receipt_id": "rcp_01J5ACTIONMINIMAL00000000",
        "workspace_id": WORKSPACE,
        "issued_at": "2026-05-04T10:00:00.000Z",
        "decision": "allow",
        "reason": "authorization_granted_action_active",
        "user_id": "emp_8821",
        "agent_id": "referral_outreach",
        "action": "outreach.send",
        "resource": "edge:emp_8821:conn_9f2a",
        "context": {},
        "authorization_id": "auth_01J5AUTH000000000000000000",
        "policy_ref": copy.deepcopy(POLICY_REF),
        "engine_version": ENGINE,
    }
    p.update(over)
    return p


def event(name: str, decision: str, **over) -> dict:
    p = action(decision=decision, reason=f"{name}_recorded", resource=None)
    del p["action"]
    p["event"] = name
    p.update(over)
    return p


def policy_eval(decision: str, target, rule, fields) -> dict:
    return {
        "input_sha256": sha(f"input {decision} {rule}"),
        "result": {
            "profile": "allowly.basic.v1",
            "status": "ok",
            "decision": decision,
            "target": target,
            "matched_rule_id": rule,
            "evaluated_fields": fields,
        },
    }


def without(p: dict, name: str) -> dict:
    p = copy.deepcopy(p)
    del p[name]
    return p


EMPTY_ROOT = "sha256:" + hashlib.sha256(b"\x02").hexdigest()


def merkle_root(receipts: list) -> str:
    leaves = sorted(hashlib.sha256(b"\x00" + canonical(r)).digest() for r in receipts)
    if not leaves:
        return EMPTY_ROOT
    while len(leaves) > 1:
        if len(leaves) % 2:
            leaves.append(leaves[-1])
        leaves = [hashlib.sha256(b"\x01" + leaves[i] + leaves[i + 1]).digest() for i in range(0, len(leaves), 2)]
    return "sha256:" + leaves[0].hex()


def checkpoint(receipt_id: str, day: str, next_day: str, count: int, root: str, prev_id, prev_root) -> dict:
    return event(
        "receipt.checkpoint",
        "receipt_set_committed",
        receipt_id=receipt_id,
        issued_at=f"{next_day}T00:05:00.000Z",
        reason="signed_receipt_set_checkpointed",
        user_id="",
        agent_id="allowly.checkpoint",
        authorization_id=None,
        policy_ref=None,
        context={
            "period_start": f"{day}T00:00:00.000Z",
            "period_end": f"{next_day}T00:00:00.000Z",
            "receipt_count": count,
            "merkle_root": root,
            "previous_checkpoint_id": prev_id,
            "previous_merkle_root": prev_root,
        },
    )


# ---------------------------------------------------------------- valid receipts

MINIMAL = jws(action())
UNICODE = jws(action(
    receipt_id="rcp_01J5ACTIONUNICODE00000000",
    issued_at="2026-05-04T11:30:00.250Z",
    user_id="emp_Ωmega",
    resource="doc:résumé/日本語",
    reason="authorization_granted_action_active",
    context={"note": "Grüße, 世界 🚀", "name": "Zoë"},
))
PREVIOUS_CP = jws(checkpoint("rcp_01J5CHECKPOINTPREVIOUS000", "2026-05-03", "2026-05-04", 0, EMPTY_ROOT, None, None))
DAILY_CP = jws(checkpoint(
    "rcp_01J5CHECKPOINTDAILY000000", "2026-05-04", "2026-05-05", 2, merkle_root([MINIMAL, UNICODE]),
    "rcp_01J5CHECKPOINTPREVIOUS000", EMPTY_ROOT,
))

SHOULD_VERIFY = [
    ("action_minimal_allow", "action", "minimal allow action receipt with a policy_ref", MINIMAL),
    ("action_deny_null_authorization", "action",
     "deny with null authorization_id (unresolved) and therefore null policy_ref",
     jws(action(receipt_id="rcp_01J5DENYNULLAUTH000000000", decision="deny", reason="no_active_authorization",
                authorization_id=None, policy_ref=None))),
    ("action_unicode", "action", "non-ASCII characters in several fields", UNICODE),
    ("action_rich_context", "action", "nested context exercising canonical JSON",
     jws(action(receipt_id="rcp_01J5RICHCONTEXT00000000000", context={
         "recipients": ["a@example.invalid", "b@example.invalid"], "limits": {"max": 9007199254740991, "min": -9007199254740991},
         "flags": {"dry_run": False, "urgent": True, "note": None}, "nested": {"z": {"y": {"x": [1, [2, [3]]]}}}}))),
    ("action_escalate_policy_eval", "action", "escalate with policy_eval naming the member to escalate to",
     jws(action(receipt_id="rcp_01J5ESCALATE0000000000000", decision="escalate", reason="policy_escalate",
                policy_eval=policy_eval("escalate", "member:usr_42", "rule_large_payment", {"amount": 1200})))),
    ("action_deny_policy_eval", "action", "deny with policy_eval: a rule matched, fields evaluated",
     jws(action(receipt_id="rcp_01J5DENYPOLICYEVAL0000000", decision="deny", reason="policy_deny",
                policy_eval=policy_eval("deny", None, "rule_block_external", {"domain": "example.invalid", "n": 3})))),
    ("action_confirm_policy_eval", "action", "confirm with policy_eval targeting the agent owner",
     jws(action(receipt_id="rcp_01J5CONFIRMPOLICYEVAL00000", decision="confirm", reason="policy_confirm",
                policy_eval=policy_eval("confirm", "agent_owner", "rule_confirm_send", {"recipients": 12})))),
    ("action_allow_policy_eval_no_rule", "action", "allow with policy_eval: no rule matched, no fields",
     jws(action(receipt_id="rcp_01J5ALLOWNORULE00000000000",
                policy_eval=policy_eval("allow", None, None, {})))),
    ("action_record_seal_null_policy_ref", "action", "record.seal may omit policy_ref although authorized",
     jws(action(receipt_id="rcp_01J5RECORDSEAL000000000000", action="record.seal", policy_ref=None))),
    ("authorization_create", "event", "authorization.create with its policy_ref",
     jws(event("authorization.create", "authorization_granted", receipt_id="rcp_01J5AUTHCREATE00000000000",
               context={"scope": "outreach.send", "max_per_day": 50}))),
    ("authorization_revoke", "event", "authorization.revoke",
     jws(event("authorization.revoke", "authorization_revoked", receipt_id="rcp_01J5AUTHREVOKE00000000000",
               context={"revoked_by": "user"}))),
    ("budget_settle", "event", "budget.settle with a resource and the exact cost",
     jws(event("budget.settle", "budget_settled", receipt_id="rcp_01J5BUDGETSETTLE000000000",
               resource="invoice:77", context={"cost_micros": 1250000}))),
    ("confirmation_resolve_approved", "event", "confirmation.resolve, approved",
     jws(event("confirmation.resolve", "confirmation_approved", receipt_id="rcp_01J5CONFIRMRESOLVE0000000",
               resource="edge:emp_8821:conn_9f2a"))),
    ("escalation_resolve_rejected", "event", "escalation.resolve, rejected",
     jws(event("escalation.resolve", "escalation_rejected", receipt_id="rcp_01J5ESCALATIONRESOLVE000"))),
    ("receipt_checkpoint_previous", "event", "empty daily receipt.checkpoint (null policy_ref)", PREVIOUS_CP),
    ("receipt_checkpoint_daily", "event", "daily receipt.checkpoint over two JWS receipts with prior linkage", DAILY_CP),
    ("action_control_chars_context", "action", "control characters in a context string",
     jws(action(receipt_id="rcp_01J5CONTROLCHARS000000000", context={"note": "tab\there\nline\u0001\u001f\"q\"\\"}))),
    ("action_non_bmp_context_key", "action", "a supplementary-plane key sorts before U+FF61 (UTF-16 order)",
     jws(action(receipt_id="rcp_01J5NONBMPKEY0000000000000", context={"\U0001F600": 1, "\uff61": 2, "a": 3}))),
    ("action_rotated_key", "action", "signed by the new key after the rotation",
     jws(action(receipt_id="rcp_01J5ROTATEDKEY000000000000", issued_at="2026-08-01T09:00:00.000Z"), KID2, K2)),
    ("action_old_key_last_millisecond", "action", "signed by the old key in the last millisecond of its window",
     jws(action(receipt_id="rcp_01J5OLDKEYLASTMS0000000000", issued_at="2026-06-30T23:59:59.999Z"))),
    ("action_new_key_first_millisecond", "action", "signed by the new key at the start of its window",
     jws(action(receipt_id="rcp_01J5NEWKEYFIRSTMS000000000", issued_at=ROTATION), KID2, K2)),
    ("issued_at_within_future_skew", "action", "issued four minutes after now, inside the five-minute skew",
     jws(action(receipt_id="rcp_01J5WITHINSKEW000000000000", issued_at="2026-11-23T00:04:00.000Z"), KID2, K2)),
    ("header_members_reordered", "action",
     "header members in another order: the signature covers the transmitted text, which need not be canonical",
     jws_raw(b'{"typ":"allowly-receipt+jws","kid":"test-key/v1","alg":"EdDSA"}',
             canonical(action(receipt_id="rcp_01J5HEADERREORDERED000000")), K1)),
    ("payload_not_canonical_text", "action", "payload JSON with whitespace and unsorted members, signed as sent",
     jws_raw(canonical(header(KID1)),
             json.dumps(action(receipt_id="rcp_01J5PAYLOADWHITESPACE00000"), indent=1).encode(), K1)),
    ("payload_surrounded_by_whitespace", "action", "whitespace before and after the payload's JSON value",
     jws_raw(canonical(header(KID1)), b" \n" + canonical(action(receipt_id="rcp_01J5PAYLOADSURROUNDED0000")) + b"\n ", K1)),
    ("context_surrogate_pair_escape", "action", "a supplementary character written as an escaped surrogate pair",
     jws_raw(canonical(header(KID1)), canonical(action(receipt_id="rcp_01J5SURROGATEPAIR000000000", context={"z": "XX"}))
             .replace(b'"XX"', b'"\\ud83d\\ude00"'), K1)),
    ("context_minus_zero", "action", "-0 is an integer (zero)",
     jws_raw(canonical(header(KID1)), canonical(action(receipt_id="rcp_01J5MINUSZERO0000000000000", context={"z": 7}))
             .replace(b'"z":7', b'"z":-0'), K1)),
    ("policy_eval_escalate_target_256_chars", "action", "an escalation target of exactly 256 characters",
     jws(action(receipt_id="rcp_01J5TARGET256000000000000", decision="escalate", reason="policy_escalate",
                policy_eval=policy_eval("escalate", "member:" + "u" * 249, "rule_e", {"n": 1})))),
    ("policy_ref_version_max_safe", "action", "policy_version 2^53-1",
     jws(action(receipt_id="rcp_01J5POLICYVERSIONMAX000000", policy_ref=dict(POLICY_REF, policy_version=MAX_SAFE)))),
]


# ---------------------------------------------------------------- must-reject receipts

def replace_member(receipt: dict, name: str, value) -> dict:
    r = dict(receipt)
    r[name] = value
    return r


def flip_last_char(text: str) -> str:
    """Same decoded length, different bits: the last character's unused low bits set (non-canonical)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    i = alphabet.index(text[-1])
    spare = {2: 0b1111, 3: 0b11}[len(text) % 4]  # unused bits in the last character
    return text[:-1] + alphabet[i | spare if i & spare == 0 else i & ~spare]


def standard_alphabet(text: str) -> str:
    assert "-" in text or "_" in text, "payload must contain a URL-safe character to swap"
    return text.replace("-", "+").replace("_", "/")


MINIMAL_PAYLOAD = action()
assert len(MINIMAL["signature"]) % 4 == 2


def url_safe_payload_receipt() -> dict:
    """A valid receipt whose payload text contains - or _ (so the standard alphabet spells it differently)."""
    for n in range(1, 16):
        r = jws(action(receipt_id="rcp_01J5URLSAFE000000000000000", context={"pad": "~" * n}))
        if "-" in r["payload"] or "_" in r["payload"]:
            return r
    raise AssertionError("no payload with a URL-safe character")

SCHEMA, MALFORMED, VERSION = "schema", "malformed", "unsupported_version"

SHOULD_REJECT = [
    # Not wire 5 by shape: judged by the wire-4 rules.
    ("receipt_null", "top-level receipt is null", SCHEMA, "receipt must be an object", None),
    ("receipt_array", "top-level receipt is an array", SCHEMA, "receipt must be an object", [MINIMAL]),
    ("envelope_extra_member", "a fourth member makes it no JWS; the wire-4 rules find no schema_version",
     VERSION, "unsupported schema_version", dict(MINIMAL, header={"kid": KID1})),
    ("envelope_signature_not_string", "signature as an array: no JWS; the wire-4 rules find no schema_version",
     VERSION, "unsupported schema_version", replace_member(MINIMAL, "signature", [MINIMAL["signature"]])),
    # Base64url.
    ("protected_padded", "protected with = padding", MALFORMED, "JWS protected is not canonical unpadded base64url",
     replace_member(MINIMAL, "protected", MINIMAL["protected"] + "=" * (-len(MINIMAL["protected"]) % 4 or 4))),
    ("payload_padded", "payload with = padding", MALFORMED, "JWS payload is not canonical unpadded base64url",
     replace_member(MINIMAL, "payload", MINIMAL["payload"] + "=" * (-len(MINIMAL["payload"]) % 4 or 4))),
    ("payload_standard_alphabet", "payload in the standard base64 alphabet (+ and /)", MALFORMED,
     "JWS payload is not canonical unpadded base64url",
     (lambda r: replace_member(r, "payload", standard_alphabet(r["payload"])))(url_safe_payload_receipt())),
    ("signature_padded", "signature with == padding", MALFORMED, "JWS signature is not canonical unpadded base64url",
     replace_member(MINIMAL, "signature", MINIMAL["signature"] + "==")),
    ("signature_noncanonical_pad_bits", "signature whose last character has non-zero unused bits", MALFORMED,
     "JWS signature is not canonical unpadded base64url",
     replace_member(MINIMAL, "signature", flip_last_char(MINIMAL["signature"]))),
    ("signature_trailing_newline", "signature followed by a newline", MALFORMED,
     "JWS signature is not canonical unpadded base64url", replace_member(MINIMAL, "signature", MINIMAL["signature"] + "\n")),
    ("signature_wrong_length", "signature of 63 bytes", SCHEMA, "exactly 64 bytes",
     replace_member(MINIMAL, "signature", b64u(b"\x01" * 63))),
    # Strict JSON inside the payload.
    ("payload_not_json", "payload decodes to text that is not JSON", MALFORMED, "JWS payload",
     jws_raw(canonical(header(KID1)), b"receipt: allow", K1)),
    ("payload_not_object", "payload decodes to an array", SCHEMA, "JWS payload must be an object",
     jws_raw(canonical(header(KID1)), canonical([MINIMAL_PAYLOAD]), K1)),
    ("payload_duplicate_member", "payload text names decision twice", MALFORMED, "duplicate member name",
     jws_raw(canonical(header(KID1)), canonical(action())[:-1] + b',"decision":"deny"}', K1)),
    ("payload_invalid_utf8", "payload bytes are not UTF-8", MALFORMED, "not valid UTF-8",
     jws_raw(canonical(header(KID1)), canonical(action(reason="x"))[:-1].replace(b'"x"', b'"\xff"') + b"}", K1)),
    ("payload_empty", "payload decodes to nothing", MALFORMED, "unexpected end of JSON input",
     jws_raw(canonical(header(KID1)), b"", K1)),
    ("payload_bom", "payload text starts with a UTF-8 byte order mark", MALFORMED, "byte order mark",
     jws_raw(canonical(header(KID1)), b"\xef\xbb\xbf" + canonical(MINIMAL_PAYLOAD), K1)),
    ("payload_leading_zero_number", "a number spelled 01", MALFORMED, "JWS payload: unexpected character",
     jws_raw(canonical(header(KID1)), canonical(action(context={"z": 7})).replace(b'"z":7', b'"z":01'), K1)),
    ("payload_nan", "NaN is not JSON", MALFORMED, "JWS payload: unexpected character",
     jws_raw(canonical(header(KID1)), canonical(action(context={"z": 7})).replace(b'"z":7', b'"z":NaN'), K1)),
    ("payload_nested_600", "nesting far beyond the limit (the parser's own cap)", MALFORMED, "nesting exceeds",
     jws_raw(canonical(header(KID1)), canonical(action(context={"z": 7})).replace(b'"z":7', b'"z":' + b"[" * 600 + b"]" * 600), K1)),
    ("payload_float", "a fraction in the context", MALFORMED, "non-integer number",
     jws_raw(canonical(header(KID1)), canonical(action(context={}))[:-1].replace(b'"context":{}', b'"context":{"ratio":0.5}') + b"}", K1)),
    ("integer_out_of_safe_range", "an integer beyond 2^53-1 in the context", MALFORMED, "safe range",
     jws(action(context={"n": MAX_SAFE + 1}))),
    ("context_lone_surrogate", "an escaped unpaired surrogate in the context", MALFORMED, "unpaired unicode surrogate",
     jws_raw(canonical(header(KID1)), canonical(action(context={"note": "XX"})).replace(b'"XX"', b'"\\ud800"'), K1)),
    ("context_deep_nesting", "payload nested 33 levels deep", MALFORMED, "max depth",
     jws(action(context=json.loads("[" * 32 + "]" * 32)))),
    # The protected header.
    ("header_typ_wrong", "typ JWT", SCHEMA, "unsupported JWS alg",
     jws_raw(canonical({"alg": "EdDSA", "kid": KID1, "typ": "JWT"}), canonical(MINIMAL_PAYLOAD), K1)),
    ("header_alg_ed25519", "alg Ed25519 (the key-document name) instead of EdDSA", SCHEMA, "unsupported JWS alg",
     jws_raw(canonical({"alg": "Ed25519", "kid": KID1, "typ": "allowly-receipt+jws"}), canonical(MINIMAL_PAYLOAD), K1)),
    ("header_alg_none", "alg none", SCHEMA, "unsupported JWS alg",
     jws_raw(canonical({"alg": "none", "kid": KID1, "typ": "allowly-receipt+jws"}), canonical(MINIMAL_PAYLOAD), K1)),
    ("header_extra_member", "a crit member in the header", SCHEMA, "JWS protected header has unknown fields",
     jws_raw(canonical(dict(header(KID1), crit=["exp"])), canonical(MINIMAL_PAYLOAD), K1)),
    ("header_missing_kid", "no kid", SCHEMA, "JWS protected header missing fields",
     jws_raw(canonical({"alg": "EdDSA", "typ": "allowly-receipt+jws"}), canonical(MINIMAL_PAYLOAD), K1)),
    ("header_kid_empty", "empty kid", SCHEMA, "kid must be a non-empty string",
     jws_raw(canonical(header("")), canonical(MINIMAL_PAYLOAD), K1)),
    ("header_typ_case", "typ in other letter case", SCHEMA, "unsupported JWS alg",
     jws_raw(canonical({"alg": "EdDSA", "kid": KID1, "typ": "Allowly-Receipt+JWS"}), canonical(MINIMAL_PAYLOAD), K1)),
    ("header_duplicate_member", "the header text names kid twice", MALFORMED, "duplicate member name",
     jws_raw(b'{"alg":"EdDSA","kid":"test-key/v1","kid":"test-key/v1","typ":"allowly-receipt+jws"}',
             canonical(MINIMAL_PAYLOAD), K1)),
    ("header_kid_lone_surrogate", "an escaped unpaired surrogate in kid", MALFORMED, "unpaired unicode surrogate",
     jws_raw(b'{"alg":"EdDSA","kid":"test-key/v1\\ud800","typ":"allowly-receipt+jws"}', canonical(MINIMAL_PAYLOAD), K1)),
    ("protected_invalid_utf8", "header bytes are not UTF-8", MALFORMED, "not valid UTF-8",
     jws_raw(b'{"alg":"EdDSA","kid":"test-key/v1\xff","typ":"allowly-receipt+jws"}', canonical(MINIMAL_PAYLOAD), K1)),
    ("header_not_object", "header decodes to a string", SCHEMA, "JWS protected header must be an object",
     jws_raw(canonical("EdDSA"), canonical(MINIMAL_PAYLOAD), K1)),
    # Signature and keys.
    ("tampered_payload", "payload replaced after signing (deny instead of allow)", "signature_mismatch",
     "signature verification failed", replace_member(MINIMAL, "payload", b64u(canonical(action(decision="deny"))))),
    ("header_reencoded", "header re-encoded with other member order after signing", "signature_mismatch",
     "signature verification failed",
     replace_member(MINIMAL, "protected", b64u(b'{"kid":"test-key/v1","alg":"EdDSA","typ":"allowly-receipt+jws"}'))),
    ("forged_signature", "64 arbitrary bytes", "signature_mismatch", "signature verification failed",
     replace_member(MINIMAL, "signature", b64u(hashlib.sha512(b"forged").digest()))),
    ("unknown_kid", "kid not in the key document", "unknown_key", "no public key found",
     jws(action(), "test-key/v9", K_OTHER)),
    ("kid_swapped", "signed by the old key, header names the new one", "signature_mismatch",
     "signature verification failed", jws(action(issued_at="2026-08-01T09:00:00.000Z"), KID2, K1)),
    ("wrong_key_for_kid", "signed by an unpublished key under a published kid", "signature_mismatch",
     "signature verification failed", jws(action(), KID1, K_OTHER)),
    ("key_not_yet_active", "new key used before the rotation", "key_outside_window", "not yet active",
     jws(action(issued_at="2026-06-30T23:59:59.999Z"), KID2, K2)),
    ("key_retired_at_issued_at", "old key used at the rotation instant", "key_outside_window",
     "retired before issued_at", jws(action(issued_at=ROTATION))),
    ("workspace_mismatch", "payload names another workspace", "workspace_mismatch", "workspace mismatch",
     jws(action(workspace_id="ws_other"))),
    # Version and members.
    ("future_version", "schema_version 6", VERSION, "unsupported schema_version", jws(action(schema_version="6"))),
    ("wire4_version_in_jws", "schema_version 4 inside a JWS", VERSION, "unsupported schema_version",
     jws(action(schema_version="4"))),
    ("unknown_top_level_field", "a wire-4 member (key_id) in the payload", SCHEMA, "unknown top-level fields",
     jws(action(key_id=KID1))),
    ("missing_policy_ref", "no policy_ref member", SCHEMA, "missing top-level fields", jws(without(action(), "policy_ref"))),
    ("missing_required_field", "no reason member", SCHEMA, "missing top-level fields", jws(without(action(), "reason"))),
    ("policy_ref_not_object", "policy_ref as a string", SCHEMA, "policy_ref must be an object or null",
     jws(action(policy_ref="pol_outreach@3"))),
    ("policy_ref_version_zero", "policy_version 0", SCHEMA, "policy_ref.policy_version",
     jws(action(policy_ref=dict(POLICY_REF, policy_version=0)))),
    ("policy_ref_version_string", "policy_version as a string", SCHEMA, "policy_ref.policy_version",
     jws(action(policy_ref=dict(POLICY_REF, policy_version="3")))),
    ("policy_ref_empty_id", "empty policy_id", SCHEMA, "policy_ref.policy_id",
     jws(action(policy_ref=dict(POLICY_REF, policy_id="")))),
    ("policy_ref_uppercase_sha", "definition_sha256 in upper case", SCHEMA, "policy_ref.definition_sha256",
     jws(action(policy_ref=dict(POLICY_REF, definition_sha256=POLICY_REF["definition_sha256"].upper())))),
    ("policy_ref_extra_member", "policy_ref with a name member", SCHEMA, "policy_ref has unknown fields",
     jws(action(policy_ref=dict(POLICY_REF, name="Outreach")))),
    ("engine_version_not_digest", "a wire-4 style engine_version", SCHEMA, "engine_version must be sha256:",
     jws(action(engine_version="2026-04-17.1"))),
    ("engine_version_uppercase", "engine_version digest in upper case", SCHEMA, "engine_version must be sha256:",
     jws(action(engine_version=ENGINE.upper()))),
    # policy_eval.
    ("policy_eval_on_event_receipt", "policy_eval on authorization.create", SCHEMA,
     "policy_eval must be absent on event receipts",
     jws(event("authorization.create", "authorization_granted", policy_eval=policy_eval("allow", None, None, {})))),
    ("policy_eval_without_policy_ref", "policy_eval with a null policy_ref", SCHEMA, "policy_eval requires a non-null policy_ref",
     jws(action(authorization_id=None, policy_ref=None, policy_eval=policy_eval("allow", None, None, {})))),
    ("policy_eval_wire4_shape", "the wire-4 policy_eval members", SCHEMA, "policy_eval has unknown fields",
     jws(action(policy_eval={"matched_condition": None, "field_value": None}))),
    ("policy_eval_confirm_without_target", "confirm with a null target", SCHEMA, "target does not match decision",
     jws(action(decision="confirm", policy_eval=policy_eval("confirm", None, "rule_c", {"n": 1})))),
    ("policy_eval_allow_with_target", "allow with a target", SCHEMA, "target does not match decision",
     jws(action(policy_eval=policy_eval("allow", "agent_owner", None, {})))),
    ("policy_eval_escalate_bare_member", "escalate to member: with no id", SCHEMA, "target does not match decision",
     jws(action(decision="escalate", policy_eval=policy_eval("escalate", "member:", "rule_e", {"n": 1})))),
    ("policy_eval_bad_profile", "another result profile", SCHEMA, "allowly.basic.v1",
     jws(action(policy_eval={"input_sha256": sha("i"), "result": dict(policy_eval("allow", None, None, {})["result"], profile="allowly.basic.v2")}))),
    ("policy_eval_fields_without_rule", "evaluated fields but no matched rule", SCHEMA,
     "evaluated_fields must be empty when matched_rule_id is null",
     jws(action(policy_eval=policy_eval("allow", None, None, {"amount": 5})))),
    ("policy_eval_bad_input_digest", "input_sha256 too short", SCHEMA, "policy_eval.input_sha256",
     jws(action(policy_eval=dict(policy_eval("allow", None, None, {}), input_sha256="abc")))),
    # When policy_ref must (not) be null.
    ("checkpoint_with_policy_ref", "receipt.checkpoint carrying a policy_ref", SCHEMA, "must have null policy_ref",
     jws(dict(checkpoint("rcp_01J5BADCHECKPOINT000000000", "2026-05-03", "2026-05-04", 0, EMPTY_ROOT, None, None),
              policy_ref=POLICY_REF))),
    ("event_null_policy_ref", "authorization.create without policy_ref", SCHEMA, "must have non-null policy_ref",
     jws(event("authorization.create", "authorization_granted", policy_ref=None))),
    ("action_authorized_null_policy_ref", "an authorized action (not record.seal) without policy_ref", SCHEMA,
     "must have non-null policy_ref", jws(action(policy_ref=None))),
    ("action_unresolved_with_policy_ref", "null authorization_id with a policy_ref", SCHEMA,
     "must have null policy_ref", jws(action(decision="deny", authorization_id=None))),
    # Kinds and pairings (as on wire 4).
    ("both_action_and_event", "action and event", SCHEMA, "both 'action' and 'event'",
     jws(action(event="authorization.create"))),
    ("neither_action_nor_event", "neither action nor event", SCHEMA, "neither 'action' nor 'event'",
     jws(without(action(), "action"))),
    ("bad_decision_value", "action decision outside the four", SCHEMA, "action receipt must have decision in",
     jws(action(decision="maybe"))),
    ("pairing_action_with_lifecycle_decision", "an event-only decision on an action", SCHEMA,
     "requires an event receipt", jws(action(decision="authorization_granted"))),
    ("authorization_update_event_rejected", "authorization.update is not an event", SCHEMA, "event must be one of",
     jws(event("authorization.update", "authorization_granted"))),
    ("pairing_event_create_wrong_decision", "authorization.create with a revoke decision", SCHEMA, "must have decision",
     jws(event("authorization.create", "authorization_revoked"))),
    ("pairing_event_revoke_null_authorization", "authorization.revoke with null authorization_id", SCHEMA,
     "must have non-null authorization_id", jws(event("authorization.revoke", "authorization_revoked", authorization_id=None))),
    ("pairing_event_with_resource", "authorization.create with a resource", SCHEMA, "must have null resource",
     jws(event("authorization.create", "authorization_granted", resource="doc:1"))),
    ("checkpoint_negative_count", "receipt.checkpoint with receipt_count -1", SCHEMA, "non-negative integer",
     jws(checkpoint("rcp_01J5NEGATIVECOUNT000000000", "2026-05-03", "2026-05-04", -1, EMPTY_ROOT, None, None))),
    ("checkpoint_issued_before_period_end", "checkpoint issued inside its own period", SCHEMA,
     "at or after period_end",
     jws(dict(checkpoint("rcp_01J5EARLYCHECKPOINT0000000", "2026-05-03", "2026-05-04", 0, EMPTY_ROOT, None, None),
              issued_at="2026-05-03T23:00:00.000Z"))),
    # Timestamps.
    ("issued_at_no_timezone", "issued_at without Z", "timestamp", "millisecond precision",
     jws(action(issued_at="2026-05-04T10:00:00.000"))),
    ("issued_at_missing_millis", "issued_at without milliseconds", "timestamp", "millisecond precision",
     jws(action(issued_at="2026-05-04T10:00:00Z"))),
    ("issued_at_impossible_date", "February 30", "timestamp", "calendar", jws(action(issued_at="2026-02-30T10:00:00.000Z"))),
    ("issued_at_leap_second", "second 60", "timestamp", "calendar", jws(action(issued_at="2026-05-04T10:00:60.000Z"))),
    ("issued_at_year_0000", "year 0000", "timestamp", "calendar", jws(action(issued_at="0000-05-04T10:00:00.000Z"))),
    ("policy_eval_escalate_target_257_chars", "an escalation target of 257 characters", SCHEMA,
     "target does not match decision",
     jws(action(decision="escalate", policy_eval=policy_eval("escalate", "member:" + "u" * 250, "rule_e", {"n": 1})))),
    ("issued_at_hour_24", "hour 24", "timestamp", "calendar", jws(action(issued_at="2026-05-04T24:00:00.000Z"))),
    ("issued_at_beyond_future_skew", "issued six minutes after now", "timestamp", "in the future",
     jws(action(issued_at="2026-11-23T00:06:00.000Z"), KID2, K2)),
]


def document() -> dict:
    names = [n for n, *_ in SHOULD_VERIFY] + [n for n, *_ in SHOULD_REJECT]
    assert len(names) == len(set(names)), "vector names are unique"
    return {
        "spec_version": "5",
        "generator": "tests/conformance/receipt-format-v5/generate.py",
        "now": NOW,
        "public_keys": PUBLIC_KEYS,
        "should_verify": [
            {"name": n, "kind": k, "description": d, "receipt": r} for n, k, d, r in SHOULD_VERIFY
        ],
        "should_reject": [
            {"name": n, "description": d, "expected_kind": kind, "expected_reason": reason, "receipt": r}
            for n, d, kind, reason, r in SHOULD_REJECT
        ],
        "checkpoint_cases": [
            {
                "name": "daily_two_jws_receipts_with_prior",
                "checkpoint": DAILY_CP,
                "receipts": [MINIMAL, UNICODE],
                "previous_checkpoint": PREVIOUS_CP,
                "expected_merkle_root": merkle_root([MINIMAL, UNICODE]),
            }
        ],
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} differs from what generate.py writes; run it and commit the result", file=sys.stderr)
            return 1
        print(f"{OUT.name}: reproduced byte for byte")
        return 0
    if argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(SHOULD_VERIFY)} valid, {len(SHOULD_REJECT)} must-reject, 1 checkpoint case)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
