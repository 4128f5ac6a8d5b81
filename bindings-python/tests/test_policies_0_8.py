"""Policy editions, edition grants, the confirmation monitor and readiness, called the way the official 0.8.0 SDK
documents them, against a local recording HTTP server (our `allowly serve` does not answer these routes yet; the
end-to-end run against it is a separate suite). What reaches the wire is core's; these tests pin the Python names."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

import allowly
from allowly import PolicyDefinition, policies

Route = Tuple[int, Any]


class Recorder:
    def __init__(self) -> None:
        self.routes: Dict[Tuple[str, str], Callable[[Any], Route]] = {}
        self.requests: List[Dict[str, Any]] = []

    def on(self, method: str, path: str, status: int, body: Any) -> None:
        self.routes[(method, path)] = lambda _sent: (status, body)


@pytest.fixture
def recorder() -> Iterator[Tuple[str, Recorder]]:
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = json.loads(self.rfile.read(length)) if length else None
            rec.requests.append({"method": self.command, "path": self.path, "body": sent, "headers": {k.lower(): v for k, v in self.headers.items()}})
            route = rec.routes.get((self.command, self.path))
            status, body = route(sent) if route else (404, {"error": {"code": "not_found", "message": "no route"}})
            payload = b"" if status == 204 else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", rec
    httpd.shutdown()
    httpd.server_close()


KEY = "allowly_rt_" + "0" * 32

# The README of 0.8.0's example definition, in our own words (any valid definition would do).
definition: PolicyDefinition = {
    "profile": "allowly.policy.v1",
    "agent_id": "research_agent",
    "actions": [{
        "policy": {
            "profile": "allowly.basic.v1", "action": "web.search", "decision": "allow", "target": None,
            "fields": {"risk": "integer"},
            "rules": [{"id": "review-high-risk", "decision": "confirm", "target": "agent_owner",
                       "conditions": [{"field": "risk", "op": "gte", "value": 2}]}],
        },
        "guards": {}, "executable_operations": [],
    }],
    "default_expiry_days": 30,
}


def ref(version: int) -> Dict[str, Any]:
    return {"policy_id": "research_agent", "policy_version": version,
            "definition_sha256": policies.definition_digest(definition)}


def policy_body(version: int = 1) -> Dict[str, Any]:
    return {"policy_ref": ref(version), "definition": definition, "description": None, "created_by": "key_setup",
            "created_at": "2026-12-06T00:00:00Z", "deleted_at": None}


def pending(receipt_id: str) -> Dict[str, Any]:
    return {"status": "pending", "receipt_id": receipt_id, "ready_at_estimate": None, "url": None}


async def test_policy_lifecycle_as_0_8_documents_it(recorder: Tuple[str, Recorder]) -> None:
    base_url, rec = recorder
    rec.on("POST", "/v1/policies", 201, policy_body())
    rec.on("GET", "/v1/policies/research_agent", 200, policy_body())
    rec.on("GET", "/v1/policies?limit=20", 200, {"items": [policy_body()], "has_more": False, "next_cursor": None})
    evaluation = policies.evaluate_policy(definition, "web.search", {"risk": 2})
    rec.on("POST", "/v1/setup/policies/preview", 200, {
        "provisional": True, "definition_sha256": policies.definition_digest(definition), "action": "web.search",
        "policy_eval": evaluation.to_dict()})
    rec.on("POST", "/v1/setup/policies/publish", 201, {
        "policy_ref": ref(2), "agent_id": "research_agent", "created_by": "key_setup",
        "created_at": "2026-12-06T00:00:00Z",
        "authorization_migrations": [{"user_id": "u", "previous_authorization_id": "auth_a", "authorization_id": "auth_b"}],
        "archived_policy_ids": [], "revoked_confirmation_count": 0})
    rec.on("DELETE", "/v1/policies/research_agent", 204, None)

    async with allowly.Allowly(api_key=KEY, base_url=base_url, allow_insecure_http=True) as setup:
        created = await setup.policies.create(policy_id="research_agent", definition=definition)
        assert created.policy_ref["policy_version"] == created.policy_ref.policy_version == 1
        preview = await setup.policies.preview(definition=definition, action="web.search", context={"risk": 2})
        assert preview.provisional
        assert (preview.policy_eval.result.decision, preview.policy_eval.input_sha256) == ("confirm", evaluation.input_sha256)
        retained = await setup.policies.get("research_agent")
        assert retained.definition == definition
        page = await setup.policies.list(limit=20)
        assert [p.policy_ref.policy_id for p in page.items] == ["research_agent"] and not page.has_more
        published = await setup.policies.publish(
            policy_id="research_agent", definition=definition,
            previous_policy_ref=retained.policy_ref, idempotency_key="publish-research-2",
        )
        assert published.policy_ref.policy_version == 2
        assert published.authorization_migrations[0]["authorization_id"] == "auth_b"
        assert await setup.policies.archive("research_agent") is None

    sent = {(r["method"], r["path"].split("?")[0]): r for r in rec.requests}
    assert sent[("POST", "/v1/policies")]["body"] == {**definition, "policy_id": "research_agent"}
    publish = sent[("POST", "/v1/setup/policies/publish")]
    assert publish["headers"]["idempotency-key"] == "publish-research-2"
    assert publish["body"]["previous_policy_ref"] == ref(1)


async def test_an_invalid_definition_never_leaves_the_process(recorder: Tuple[str, Recorder]) -> None:
    base_url, rec = recorder
    bad = json.loads(json.dumps(definition))
    bad["actions"][0]["policy"]["rules"][0]["conditions"][0]["op"] = "roughly"
    async with allowly.Allowly(api_key=KEY, base_url=base_url, allow_insecure_http=True) as setup:
        with pytest.raises(allowly.ValidationError) as raised:
            await setup.policies.create(policy_id="research_agent", definition=bad)
        assert raised.value.fields[0].field == "actions[0].policy.rules[0].conditions[0].op"
        with pytest.raises(allowly.ValidationError):
            await setup.policies.preview(definition=bad, action="web.search", context={})
        with pytest.raises(allowly.ValidationError):
            await setup.policies.publish(policy_id="research_agent", definition=bad, idempotency_key="k")
    assert rec.requests == []


async def test_authorizations_create_takes_both_call_shapes(recorder: Tuple[str, Recorder]) -> None:
    base_url, rec = recorder
    edition = {
        "authorization_id": "auth_e", "policy_ref": ref(1), "actions": ["web.search"],
        "created_at": "2026-12-06T00:00:00Z", "expires_at": "2027-01-05T00:00:00Z", "receipt": pending("rcp_c"),
        "authorization_provenance": {"kind": "api_key"}, "budget_limit_micros": None, "budget_spent_micros": None,
    }
    scoped = {
        "authorization_id": "auth_s", "user_id": "subject:abc", "agent_id": "agent_1", "scopes": ["email.read"],
        "created_at": "2026-12-06T00:00:00Z", "expires_at": "2027-03-06T00:00:00Z", "receipt": pending("rcp_d"),
    }
    async with allowly.Allowly(api_key=KEY, base_url=base_url, allow_insecure_http=True) as client:
        rec.on("POST", "/v1/authorizations", 201, edition)
        authorization = await client.authorizations.create(
            user_id="subject:abc", policy_id="research_agent", policy_version=1, actions=["web.search"],
            metadata={"source": "import"},
        )
        assert isinstance(authorization, allowly.EditionAuthorization)
        assert authorization.authorization_id == "auth_e" and authorization.actions == ["web.search"]
        rec.on("POST", "/v1/authorizations", 201, scoped)
        older = await client.authorizations.create(user_id="subject:abc", agent_id="agent_1", scopes=["email.read"])
        assert isinstance(older, allowly.Authorization) and older.scopes == ["email.read"]
        with pytest.raises(allowly.ValidationError) as raised:
            await client.authorizations.create(user_id="u", policy_id="research_agent", policy_version=1, agent_id="a")
        assert raised.value.fields[0].field == "agent_id"
    bodies = [r["body"] for r in rec.requests]
    assert bodies == [
        {"user_id": "subject:abc", "policy_id": "research_agent", "policy_version": 1, "actions": ["web.search"],
         "metadata": {"source": "import"}},
        {"user_id": "subject:abc", "agent_id": "agent_1", "scopes": ["email.read"]},
    ]


def test_confirmation_status_and_readiness_on_the_sync_client(recorder: Tuple[str, Recorder]) -> None:
    base_url, rec = recorder
    rec.on("GET", "/v1/confirmations/cnf_1/status", 200, {
        "confirmation_id": "cnf_1", "authorization_id": "auth_e", "action": "web.search", "resource": None,
        "status": "pending", "expires_at": "2026-12-06T00:05:00Z", "resolved_at": None,
        "source_receipt_id": "rcp_s", "resolution_receipt_id": None, "authority_status": "none",
        "child_authorization_id": None, "authority_expires_at": None})
    rec.on("GET", "/readyz", 503, {"status": "unavailable", "database": True, "signer": False})
    with allowly.SyncAllowly(KEY, base_url=base_url, allow_insecure_http=True) as client:
        status = client.confirmations.get_status("cnf_1")
        assert (status.status, status.authority_status) == ("pending", "none")
        assert client.readiness() is False
        rec.on("GET", "/readyz", 200, {"status": "ready", "database": True, "signer": True})
        assert client.readiness() is True


async def test_real_server_readiness_and_escalation_fields(client: allowly.Allowly) -> None:
    assert await client.readiness() is True
    auth = await client.authorizations.create(user_id="u-esc", agent_id="agent-esc", scopes=["email.read"])
    result = (await client.check(authorization_id=auth.authorization_id, actions=["email.read"])).results["email.read"]
    assert (result.escalation_id, result.escalation_to, result.escalation_expires_at) == (None, None, None)


async def test_check_results_read_like_0_8_results(recorder: Tuple[str, Recorder]) -> None:
    base_url, rec = recorder
    evaluation = policies.evaluate_policy(definition, "web.search", {"risk": 2})
    escalated = {
        "decision": "escalate", "reason": "escalation_required", "receipt": pending("rcp_x"),
        "escalation_id": "esc_1", "escalation_to": "member:usr_2", "escalation_expires_at": "2026-12-06T01:00:00Z",
        "policy_eval": evaluation.to_dict(),
    }
    granted = {"decision": "allow", "reason": "granted", "receipt": pending("rcp_y"),
               "policy_eval": {"matched_condition": None, "field_value": None}}
    rec.on("POST", "/v1/check", 200, {
        "authorization_id": "auth_e", "engine_version": policies.engine_version(),
        "results": {"web.search": escalated, "email.read": granted}})
    async with allowly.Allowly(api_key=KEY, base_url=base_url, allow_insecure_http=True) as client:
        result = await client.check(authorization_id="auth_e", actions=["web.search", "email.read"])
    search = result.results["web.search"]
    assert (search.decision, search.escalation_id, search.escalation_to) == ("escalate", "esc_1", "member:usr_2")
    assert isinstance(search.policy_eval, allowly.PolicyEval)
    assert search.policy_eval.result.decision == "confirm"
    assert search.policy_eval.input_sha256 == evaluation.input_sha256
    assert result.results["email.read"].policy_eval == {"matched_condition": None, "field_value": None}
    assert search.to_dict()["policy_eval"] == evaluation.to_dict()
