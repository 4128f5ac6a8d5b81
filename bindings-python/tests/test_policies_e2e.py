"""Policy editions through this SDK against the real dev server: author, preview, publish, grant from an edition,
decide, and verify the edition's wire-5 receipts offline — the 0.8.0 calls, spelled as its docs spell them."""

import json
from typing import Dict

import pytest

import allowly
from allowly.verify import verify_receipt

DEFINITION = {
    "profile": "allowly.policy.v1",
    "agent_id": "research_agent",
    "actions": [{
        "policy": {
            "profile": "allowly.basic.v1", "action": "web.search", "decision": "allow", "target": None,
            "fields": {"risk": "integer"},
            "rules": [{"id": "review-high-risk", "decision": "confirm", "target": "agent_owner",
                       "conditions": [{"field": "risk", "op": "gte", "value": 2}]},
                      {"id": "escalate-critical", "decision": "escalate", "target": "member:security",
                       "conditions": [{"field": "risk", "op": "gte", "value": 9}]}],
        },
        "guards": {}, "executable_operations": [],
    }],
    "default_expiry_days": 30,
}


@pytest.fixture
async def setup(server: Dict[str, str]) -> "allowly.Allowly":
    async with allowly.Allowly(api_key=server["setup_api_key"], base_url=server["base_url"],
                               allow_insecure_http=True) as c:
        yield c


async def test_author_preview_publish_and_read(setup: allowly.Allowly, client: allowly.Allowly) -> None:
    created = await setup.policies.create(policy_id="research-agent-e2e", definition=DEFINITION)
    assert created.policy_ref.policy_version == 1
    assert created.policy_ref.definition_sha256 == allowly.policies.definition_digest(DEFINITION)
    preview = await setup.policies.preview(definition=DEFINITION, action="web.search", context={"risk": 2})
    assert preview.provisional
    assert (preview.policy_eval.result.decision, preview.policy_eval.result.matched_rule_id) == (
        "confirm", "review-high-risk")
    local = allowly.policies.evaluate_policy(DEFINITION, "web.search", {"risk": 2})
    assert preview.policy_eval.input_sha256 == local.input_sha256, "server and SDK commit to the same input"
    retained = await client.policies.get("research-agent-e2e")
    assert retained.policy_ref.policy_version == 1
    updated = dict(DEFINITION, default_expiry_days=7)
    published = await setup.policies.publish(policy_id="research-agent-e2e", definition=updated,
                                             previous_policy_ref=retained.policy_ref,
                                             idempotency_key="publish-research-e2e-2")
    assert published.policy_ref.policy_version == 2
    page = await client.policies.list(limit=100)
    assert any(p.policy_ref["policy_id"] == "research-agent-e2e" for p in page.items)
    # A stale predecessor is refused by the server, not silently overwritten.
    with pytest.raises(allowly.ConflictError):
        await setup.policies.publish(policy_id="research-agent-e2e", definition=DEFINITION,
                                     previous_policy_ref=retained.policy_ref, idempotency_key="publish-stale")
    # An invalid definition never leaves the process: the error names its path.
    bad = json.loads(json.dumps(DEFINITION))
    bad["actions"][0]["policy"]["rules"][0]["conditions"][0]["op"] = "neq"
    with pytest.raises(allowly.ValidationError) as e:
        await setup.policies.create(policy_id="bad", definition=bad)
    assert "actions[0].policy.rules[0].conditions[0].op" in str(e.value)


async def test_edition_grant_decides_and_receipts_verify_offline(
        setup: allowly.Allowly, client: allowly.Allowly, server: Dict[str, str]) -> None:
    created = await setup.policies.create(policy_id="research-agent-grant", definition=DEFINITION)
    auth = await client.authorizations.create(user_id="subject:e2e", policy_id="research-agent-grant",
                                              policy_version=created.policy_ref.policy_version)
    assert list(auth.actions) == ["web.search"]

    allow = (await client.check(authorization_id=auth.authorization_id, actions=["web.search"],
                                context={"risk": 1})).results["web.search"]
    assert (allow.decision, allow.reason) == ("allow", "policy_allowed")
    confirm = (await client.check(authorization_id=auth.authorization_id, actions=["web.search"],
                                  context={"risk": 3})).results["web.search"]
    assert (confirm.decision, confirm.reason) == ("confirm", "policy_requires_confirmation")
    monitor = await client.confirmations.get_status(confirm.confirmation_id)
    assert (monitor.status, monitor.authority_status) == ("pending", "none")
    # 0.8.0 code reads the same two attributes from `confirmations.get`.
    confirmation = await client.confirmations.get(confirm.confirmation_id)
    assert (confirmation.status, confirmation.authority_status) == ("pending", "none")
    rejected = await client.confirmations.approve(confirm.confirm_nonce, approved=False)
    assert rejected.decision == "not_approved"
    escalate = (await client.check(authorization_id=auth.authorization_id, actions=["web.search"],
                                   context={"risk": 9})).results["web.search"]
    assert (escalate.decision, escalate.escalation_to) == ("escalate", "member:security")
    assert escalate.escalation_id.startswith("esc_")
    assert await client.readiness() is True

    keys = await client.keys.fetch(server["workspace_id"])
    for result in (allow, confirm, escalate):
        signed = await client.receipts.fetch_signed(result.receipt.receipt_id)
        verified = verify_receipt(signed, keys, expected_workspace_id=server["workspace_id"])
        assert verified.schema_version == "5"
        assert verified.decision == result.decision
