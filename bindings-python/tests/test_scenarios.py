"""The cross-language scenarios (tests/scenarios/*.json) through the Python SDK: each step name maps to one public
call of `allowly`; every expectation lives in the JSON. With ALLOWLY_PARITY_DIR set, each scenario's outcome is
written to $ALLOWLY_PARITY_DIR/python.json for `make parity`."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

import allowly
from allowly import identifiers, verify

from conftest import REPO, DevServer, allowly_binary

LANGUAGE = "python"
SCENARIOS = REPO / "tests" / "scenarios"
FILES = sorted(p for p in SCENARIOS.glob("*.json") if p.name != "schema.json")
REPORT: Dict[str, Dict[str, str]] = {}
# Core's kind of each exception class, from core's own list (a VerificationError subclass reports its base's kind).
KIND_BY_CLASS = {cls: kind for kind, cls in allowly._native._error_kinds()}


class RunnerError(Exception):
    """The scenario or the runner is wrong (not an SDK outcome)."""


def record(name: str, status: str, reason: str = "") -> None:
    REPORT[name] = {"status": status, **({"reason": reason} if reason else {})}
    out = os.environ.get("ALLOWLY_PARITY_DIR")
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{LANGUAGE}.json"), "w") as f:
            json.dump({"language": LANGUAGE, "results": REPORT}, f, indent=2)


@pytest.fixture(scope="module")
def endpoints() -> Iterator[Dict[str, str]]:
    """A dead port (bound, then released) and a silent peer (listens, never answers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    yield {"dead_base_url": f"http://127.0.0.1:{dead}", "silent_base_url": f"http://127.0.0.1:{silent.getsockname()[1]}"}
    silent.close()


def lookup(variables: Dict[str, Any], path: str) -> Any:
    """`$name.a.b`, taking the longest existing key at each level (scope names contain dots)."""
    segs = path.split(".")
    if segs[0] not in variables:
        raise RunnerError(f"no variable ${segs[0]}")
    cur, i = variables[segs[0]], 1
    while i < len(segs):
        for j in range(len(segs), i, -1):
            key = ".".join(segs[i:j])
            if isinstance(cur, dict) and key in cur:
                cur, i = cur[key], j
                break
        else:
            raise RunnerError(f"${path}: nothing at {'.'.join(segs[i:])}")
    return cur


def resolve(variables: Dict[str, Any], v: Any) -> Any:
    if isinstance(v, str) and v.startswith("$"):
        return lookup(variables, v[1:])
    if isinstance(v, list):
        return [resolve(variables, x) for x in v]
    if isinstance(v, dict) and "$now_plus_ms" in v:
        t = datetime.now(timezone.utc) + timedelta(milliseconds=v["$now_plus_ms"])
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    if isinstance(v, dict):
        return {k: resolve(variables, x) for k, x in v.items()}
    return v


def match(exp: Any, act: Any, path: str = "result") -> None:
    """Subset match: objects key by key, arrays element by element, plus $len, $present and $ne."""
    def fail() -> None:
        raise AssertionError(f"{path}: expected {json.dumps(exp)}, got {json.dumps(act, default=str)}")

    if isinstance(exp, dict) and "$len" in exp:
        if not isinstance(act, (list, str)) or len(act) != exp["$len"]:
            fail()
    elif isinstance(exp, dict) and "$present" in exp:
        if (act is not None) != exp["$present"]:
            fail()
    elif isinstance(exp, dict) and "$ne" in exp:
        if act == exp["$ne"]:
            fail()
    elif isinstance(exp, dict):
        if not isinstance(act, dict):
            fail()
        for k, e in exp.items():
            match(e, act.get(k), f"{path}.{k}")
    elif isinstance(exp, list):
        if not isinstance(act, list) or len(act) != len(exp):
            fail()
        for i, (e, a) in enumerate(zip(exp, act)):
            match(e, a, f"{path}[{i}]")
    elif exp != act or isinstance(exp, bool) != isinstance(act, bool):
        fail()


def error_json(e: allowly.AllowlyError) -> Dict[str, Any]:
    kind = next((KIND_BY_CLASS[c] for c in type(e).__mro__ if c in KIND_BY_CLASS), "unknown")
    fields = [f.field for f in getattr(e, "fields", [])]
    return {"type": kind, "code": e.code, "status": e.status, "fields": fields,
            "retry_after": getattr(e, "retry_after", None)}


class Run:
    def __init__(self, server: Dict[str, str], env: Dict[str, str]) -> None:
        self.server = server
        self.vars: Dict[str, Any] = {"env": env}
        self.keys: Dict[str, allowly.KeySet] = {}
        self.seen: Dict[str, allowly.MemorySeenIds] = {}
        self.client = self.make_client(None)

    def make_client(self, opts: Optional[Dict[str, Any]]) -> allowly.SyncAllowly:
        o = opts or {}
        return allowly.SyncAllowly(
            o.get("api_key", self.server["runtime_api_key"]),
            base_url=o.get("base_url", self.server["base_url"]),
            allow_insecure_http=True,
            max_retries=o.get("max_retries"),
            check_timeout=o["check_timeout_ms"] / 1000 if "check_timeout_ms" in o else None,
            fallback_by_scope=o.get("fallback_by_scope"),
            agent_credential=allowly.AgentCredential.from_json(o["agent_credential"]) if "agent_credential" in o else None,
            agent_token_supplier=(lambda: o["agent_token"]) if "agent_token" in o else None,
        )

    def op(self, step: Dict[str, Any], a: Dict[str, Any]) -> Any:
        c = self.make_client(resolve(self.vars, step["client"])) if "client" in step else self.client
        op = step["op"]
        if op == "create_authorization":
            return c.authorizations.create(**a).to_dict()
        if op == "get_authorization":
            return c.authorizations.get(a["authorization_id"]).to_dict()
        if op == "revoke":
            return c.authorizations.revoke(a["authorization_id"], revoked_by=a["revoked_by"], notes=a.get("notes")).to_dict()
        if op == "check":
            return c.check(**a).to_dict()
        if op == "approve_confirmation":
            return c.confirmations.approve(a["confirm_nonce"], approved=a["approved"], ttl_seconds=a.get("ttl_seconds")).to_dict()
        if op == "settle_budget":
            return c.budget.settle(**a).to_dict()
        if op == "fetch_signed":
            r = c.receipts.fetch_signed(a["receipt_id"], poll_interval=a["poll_interval_ms"] / 1000,
                                        timeout=a["timeout_ms"] / 1000)
            return {"receipt_id": r.receipt_id, "json": r.json, "receipt": json.loads(r.json)}
        if op == "fetch_keys":
            keys = c.keys.fetch(a["workspace_id"])
            self.keys[step["save"]] = keys
            return {"workspace_id": keys.workspace_id, "fingerprints": list(keys.fingerprints)}
        if op == "verify_receipt":
            name = step["args"]["keys"].lstrip("$")
            if name not in self.keys:
                raise RunnerError(f"no key set ${name}")
            text = a["receipt"]["json"]
            if "tamper" in a:
                if a["tamper"]["find"] not in text:
                    raise RunnerError(f"tamper: {a['tamper']['find']} not in the receipt")
                text = text.replace(a["tamper"]["find"], a["tamper"]["replace"], 1)
            return verify.verify_receipt(text, self.keys[name], expected_workspace_id=a.get("expected_workspace_id")).to_dict()
        if op == "from_email":
            return {"user_id": identifiers.from_email(a["email"], pepper=a["pepper"])}
        if op == "verify_webhook":
            seen = self.seen.setdefault(a["seen"], allowly.MemorySeenIds())
            return allowly.verify_webhook(a["body"].encode(), [tuple(h) for h in a["headers"]], a["secret"],
                                          a["expected_workspace_id"], now=a["now"], seen=seen)
        if op == "rotate_signing_key":
            return c.admin.signing_keys.rotate().to_dict()
        if op == "set_webhook":
            return c.admin.webhook.set(a["url"]).to_dict()
        if op == "enroll_agent":
            with allowly.SyncAllowly(self.server["setup_api_key"], base_url=self.server["base_url"],
                                     allow_insecure_http=True) as admin:
                a = admin.agents.enroll(a["agent_id"])
            return {"agent_id": a.agent_id, "binding_id": a.binding_id, "key_id": a.key_id,
                    "workspace_id": a.workspace_id, "credential_json": a.to_json()}
        if op == "mint_agent_token":
            credential = allowly.AgentCredential.from_json(a["credential"])
            return {"token": credential.token_at(int(time.time()) + a.get("issued_at_offset_seconds", 0))}
        if op == "create_member":
            m = c.admin.members.create(a["member_id"], display_name=a.get("display_name"))
            return {**m.to_dict(), "credential": m.credential}
        if op == "resolve_escalation":
            return c.escalations.resolve(a["escalation_id"], resolution=a["resolution"], note=a.get("note"),
                                         resolved_by=a.get("resolved_by")).to_dict()
        if op == "get_escalation_status":
            return c.escalations.get_status(a["escalation_id"]).to_dict()
        if op == "wait_for_escalation":
            return c.escalations.wait(a["escalation_id"], timeout=a["timeout_ms"] / 1000,
                                      poll_interval=a["poll_interval_ms"] / 1000).to_dict()
        if op == "sleep":
            time.sleep(a["ms"] / 1000)
            return None
        raise RunnerError(f"unknown op {op}")

    def step(self, i: int, step: Dict[str, Any]) -> None:
        where = f"step {i} ({step['op']})"
        args = resolve(self.vars, step.get("args", {}))
        try:
            result = self.op(step, args)
        except allowly.AllowlyError as e:
            if "error" not in step:
                raise AssertionError(f"{where}: unexpected error {error_json(e)}: {e}") from e
            exp = dict(resolve(self.vars, step["error"]))
            want_fields = exp.pop("fields", [])
            act = error_json(e)
            match(exp, act, f"{where} error")
            missing = [f for f in want_fields if f not in act["fields"]]
            assert not missing, f"{where}: error fields {act['fields']} lack {missing} ({e})"
            return
        assert "error" not in step, f"{where}: expected error {step['error']}, got {result}"
        if "expect" in step:
            match(resolve(self.vars, step["expect"]), result, f"{where} result")
        if "save" in step:
            self.vars[step["save"]] = result


def test_scenario_files_match_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")  # installed by `make python-env`
    schema = json.loads((SCENARIOS / "schema.json").read_text())
    for path in FILES:
        jsonschema.validate(json.loads(path.read_text()), schema)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Any, server: Dict[str, str], endpoints: Dict[str, str], tmp_path: Path) -> None:
    scenario = json.loads(path.read_text())
    name = scenario["name"]
    skip = scenario.get("skip") or scenario.get("skip_languages", {}).get(LANGUAGE)
    if skip:
        record(name, "skip", skip)
        pytest.skip(skip)
    # A scenario with `serve_args` gets a server of its own, started with those flags.
    own = DevServer(tmp_path, binary=allowly_binary(), extra_args=scenario["serve_args"]) if "serve_args" in scenario else None
    try:
        if own is not None:
            server = own.start()
        env = {"base_url": server["base_url"], "workspace_id": server["workspace_id"],
               "setup_api_key": server["setup_api_key"], **endpoints}
        run = Run(server, env)
        for i, step in enumerate(scenario["steps"]):
            run.step(i, step)
    except BaseException as e:
        record(name, "fail", f"{type(e).__name__}: {e}".splitlines()[0][:300])
        raise
    finally:
        if own is not None:
            own.stop(timeout=10)
    record(name, "pass")
