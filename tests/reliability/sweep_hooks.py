"""Schemathesis hooks of the bad-input sweep (loaded through SCHEMATHESIS_HOOKS by sweep.py).

- Auth: every request carries the key its operation's tier needs (`x-allowly-key-tier` of the served OpenAPI
  document): the setup key on setup routes, the runtime key elsewhere — or, with SWEEP_KEY_MODE=setup, the setup key
  everywhere (setup keys are valid on every route).
- `wire_v1_error_envelope`: every 4xx body is `{"error": {"code", "message", "fields": [{"field", "message"}]}}`.
- Live ids: random ids only ever reach "not found", so every second request whose path or body names an object gets
  an id (or confirmation nonce, or granted scope) an earlier ACCEPTED response returned, and goes through the real
  state transitions (check on a live authorization, confirm, settle, revoke) with the rest of its generated input.
- Every call is appended to SWEEP_LOG (one JSON line: operation, status, Idempotency-Key, and for 2xx answers the ids
  the body contains), so sweep.py can count inputs per operation and account for every new database row.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections import defaultdict

import schemathesis

RUNTIME_KEY = os.environ["SWEEP_RUNTIME_KEY"]
SETUP_KEY = os.environ["SWEEP_SETUP_KEY"]
KEY_MODE = os.environ.get("SWEEP_KEY_MODE", "tier")
LOG_PATH = os.environ["SWEEP_LOG"]
WORKSPACE_ID = os.environ.get("SWEEP_WORKSPACE_ID")
PROTECTED_KEY_IDS = set(json.loads(os.environ.get("SWEEP_PROTECTED_KEY_IDS", "[]")))

# Ids the server mints: a short type prefix and a ULID, or a signing key id `ws_…/signing-keys/N`.
ID_RE = re.compile(r"[a-z]+_[0-9A-HJKMNP-TV-Z]{26}(?:/signing-keys/\d+)?")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# What accepted responses returned, by id prefix; "nonce" holds confirm nonces. Key ids are taken only from keys the
# sweep created, so it never revokes the two keys it authenticates with.
KNOWN: dict[str, list[str]] = defaultdict(list)
GRANTED: dict[str, list[str]] = {}
_calls = itertools.count()
_live_seq = itertools.count()
LIVE_CASES: set[int] = set()


def _was_live(case) -> bool:
    if id(case) in LIVE_CASES:
        LIVE_CASES.discard(id(case))
        return True
    return False
PATH_IDS = {
    ("GET", "/v1/authorizations/{id}"): "auth",
    ("DELETE", "/v1/authorizations/{id}"): "auth_created",
    ("GET", "/v1/receipts/{id}"): "rcp",
    ("GET", "/v1/confirmations/{id}"): "cnf",
    ("POST", "/v1/confirmations/{id}"): "nonce",
    ("DELETE", "/v1/api-keys/{id}"): "key",
    ("GET", "/v1/workspaces/{id}/keys"): "ws",
}
BODY_IDS = {
    ("POST", "/v1/check"): ("authorization_id", "auth"),
    ("POST", "/v1/budget-settlements"): ("check_receipt_id", "budget_rcp"),
    ("POST", "/v1/authorizations"): ("replaces", "auth_created"),
}
if WORKSPACE_ID:
    KNOWN["ws"].append(WORKSPACE_ID)
BUDGETED: set[str] = set()
SEEDED: set[str] = set()
for _auth, _seed in json.loads(os.environ.get("SWEEP_SEED_AUTHS", "{}")).items():
    KNOWN["auth"].append(_auth)
    GRANTED[_auth] = _seed["scopes"]
    SEEDED.add(_auth)
    if _seed["budgeted"]:
        BUDGETED.add(_auth)


def _pick(kind: str, n: int) -> str | None:
    values = KNOWN.get(kind)
    return values[n % len(values)] if values else None


def _use_live_ids(case) -> bool:
    """Puts a live id into every second request that names one; True when it did."""
    n = next(_calls)
    op = (case.operation.method.upper(), case.operation.path)
    if op == ("DELETE", "/v1/api-keys/{id}") and (case.path_parameters or {}).get("id") in PROTECTED_KEY_IDS:
        # Schemathesis reuses ids from the key listing: never let it revoke the keys the sweep runs with.
        case.path_parameters = {**case.path_parameters, "id": _pick("key", n) or "key_" + "0" * 26}
        return True
    # Nor revoke (or supersede) the seeded authorizations, which the confirm/budget flows depend on.
    if op == ("DELETE", "/v1/authorizations/{id}") and (case.path_parameters or {}).get("id") in SEEDED:
        case.path_parameters = {**case.path_parameters, "id": _pick("auth_created", n) or "auth_" + "0" * 26}
        return True
    if op == ("POST", "/v1/authorizations") and isinstance(case.body, dict) and str(case.body.get("replaces")) in SEEDED:
        case.body = {**case.body, "replaces": _pick("auth_created", n) or "auth_" + "0" * 26}
        return True
    if n % 2:
        return False
    if op in PATH_IDS and isinstance(case.path_parameters, dict) and "id" in case.path_parameters:
        live = _pick(PATH_IDS[op], n // 2)
        if live:
            case.path_parameters = {**case.path_parameters, "id": live}
            return True
    if op in BODY_IDS and isinstance(case.body, dict):
        field, kind = BODY_IDS[op]
        live = _pick(kind, n // 2)
        if live is None or (field not in case.body and op[1] != "/v1/check"):
            return False
        body = {**case.body, field: live}
        scopes = GRANTED.get(live)
        if op[1] == "/v1/check" and scopes:
            name = "actions" if "actions" in body and "scopes" not in body else "scopes"
            body[name] = [scopes[(n // 2) % len(scopes)]]
            if live in BUDGETED and not isinstance(body.get("estimated_cost_micros"), int):
                body["estimated_cost_micros"] = 1 + n % 5000
        case.body = body
        return True
    return False


def _remember(case, body) -> None:
    op = (case.operation.method.upper(), case.operation.path)
    if not isinstance(body, dict):
        return
    if op == ("POST", "/v1/api-keys") and isinstance(body.get("id"), str):
        KNOWN["key"].append(body["id"])
    if op == ("POST", "/v1/authorizations") and isinstance(body.get("authorization_id"), str):
        KNOWN["auth"].append(body["authorization_id"])
        KNOWN["auth_created"].append(body["authorization_id"])
        grants = body.get("scopes") or body.get("actions") or []
        GRANTED[body["authorization_id"]] = [g["name"] if isinstance(g, dict) else g for g in grants]
    found: set[str] = set()
    _ids(body, found)
    for i in found:
        prefix = i.split("_", 1)[0]
        if prefix in ("rcp", "cnf") and i not in KNOWN[prefix]:
            KNOWN[prefix].append(i)
    for result in (body.get("results") or {}).values() if isinstance(body.get("results"), dict) else ():
        if isinstance(result, dict) and isinstance(result.get("confirm_nonce"), str):
            KNOWN["nonce"].append(result["confirm_nonce"])
        if isinstance(result, dict) and result.get("decision") == "allow" and result.get("budget"):
            found = set()
            _ids(result.get("receipt"), found)  # pending envelope, or a signed receipt with ?wait=true
            KNOWN["budget_rcp"].extend(sorted(i for i in found if i.startswith("rcp_")))


def _tier(case) -> str | None:
    return case.operation.definition.raw.get("x-allowly-key-tier")


@schemathesis.hook
def before_call(context, case, kwargs):
    if _use_live_ids(case):
        LIVE_CASES.add(id(case))
        # Generated Idempotency-Keys repeat ("0", "00"...); with a substituted body that is a 409 every time.
        headers = case.headers or {}
        if isinstance(headers.get("Idempotency-Key"), str) and case.meta and \
                str(case.meta.generation.mode) == "positive":
            case.headers = {**headers, "Idempotency-Key": f"{headers['Idempotency-Key']}-live{next(_live_seq)}"}
    tier = _tier(case)
    if tier is None:
        return
    key = SETUP_KEY if (tier == "setup" or KEY_MODE == "setup") else RUNTIME_KEY
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}


def _ids(value, out: set[str]) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _ids(v, out)
    elif isinstance(value, list):
        for v in value:
            _ids(v, out)
    elif isinstance(value, str):
        out.update(ID_RE.findall(value))


@schemathesis.hook
def after_call(context, case, response):
    status = response.status_code
    ids: set[str] = set()
    if 200 <= status < 300:
        text = response.content.decode("utf-8", "replace")
        for line in text.splitlines() or [text]:  # the export route answers JSON Lines
            try:
                doc = json.loads(line)
            except ValueError:
                ids.update(ID_RE.findall(line))
                continue
            _ids(doc, ids)
            _remember(case, doc)
    request_headers = getattr(response.request, "headers", {}) or {}
    code = None
    if 400 <= status < 500 or status == 501:
        try:
            err = json.loads(response.content)["error"]
            code = err["code"] + "".join(f" {f['field']}" for f in err.get("fields", [])[:3])
        except (ValueError, KeyError, TypeError):
            code = "<not an envelope>"
    record = {
        "op": f"{case.operation.method.upper()} {case.operation.path}",
        "status": status,
        "code": code,
        "mode": getattr(getattr(case, "meta", None), "generation", None) and str(case.meta.generation.mode),
        "path": response.request.path_url.split("?")[0] if 200 <= status < 300 else None,
        "idem": request_headers.get("Idempotency-Key"),
        "live": _was_live(case),
        "ids": sorted(ids),
    }
    with open(LOG_PATH, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


@schemathesis.check
def wire_v1_error_envelope(ctx, response, case):
    """A 4xx answer is the wire-v1 error envelope, and nothing else."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.content[:200]!r}")
    assert isinstance(body, dict) and set(body) == {"error"}, f"not an error envelope: {body}"
    err = body["error"]
    assert isinstance(err, dict), f"`error` is not an object: {body}"
    assert set(err) <= {"code", "message", "fields"}, f"unexpected members in `error`: {sorted(err)}"
    assert isinstance(err.get("code"), str) and CODE_RE.match(err["code"]), f"bad `code`: {err.get('code')!r}"
    assert isinstance(err.get("message"), str) and err["message"], f"bad `message`: {err.get('message')!r}"
    fields = err.get("fields", [])
    assert isinstance(fields, list), f"`fields` is not a list: {fields!r}"
    for f in fields:
        assert isinstance(f, dict) and set(f) == {"field", "message"}, f"bad `fields` entry: {f!r}"
        assert isinstance(f["field"], str) and isinstance(f["message"], str), f"bad `fields` entry: {f!r}"
    if response.status_code == 429:
        assert "retry-after" in response.headers, "429 without Retry-After"
    return True
