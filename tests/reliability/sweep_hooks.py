"""Schemathesis hooks of the bad-input sweep (loaded through SCHEMATHESIS_HOOKS by sweep.py).

- Auth: every request carries the key its operation's tier needs (`x-allowly-key-tier` of the served OpenAPI
  document): the setup key on setup routes, the runtime key elsewhere — or, with SWEEP_KEY_MODE=setup, the setup key
  everywhere (setup keys are valid on every route).
- `wire_v1_error_envelope`: every 4xx body is `{"error": {"code", "message", "fields": [{"field", "message"}]}}`.
- Every call is appended to SWEEP_LOG (one JSON line: operation, status, Idempotency-Key, and for 2xx answers the ids
  the body contains), so sweep.py can count inputs per operation and account for every new database row.
"""

from __future__ import annotations

import json
import os
import re

import schemathesis

RUNTIME_KEY = os.environ["SWEEP_RUNTIME_KEY"]
SETUP_KEY = os.environ["SWEEP_SETUP_KEY"]
KEY_MODE = os.environ.get("SWEEP_KEY_MODE", "tier")
LOG_PATH = os.environ["SWEEP_LOG"]

# Ids the server mints: a short type prefix and a ULID, or a signing key id `ws_…/signing-keys/N`.
ID_RE = re.compile(r"[a-z]+_[0-9A-HJKMNP-TV-Z]{26}(?:/signing-keys/\d+)?")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _tier(case) -> str | None:
    return case.operation.definition.raw.get("x-allowly-key-tier")


@schemathesis.hook
def before_call(context, case, kwargs):
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
                _ids(json.loads(line), ids)
            except ValueError:
                ids.update(ID_RE.findall(line))
    request_headers = getattr(response.request, "headers", {}) or {}
    code = None
    if 400 <= status < 500:
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
