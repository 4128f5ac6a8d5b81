"""Seed 000's Python steps, nearly verbatim, against a real `allowly serve --dev`.

Deviations from the seed's text, all for running it rather than reading it: the app's `user`, `db`, `ask_user` and
`send_email` are small fakes; the authorization also says `requires_confirm_for=["email.send"]` so the confirm
branch runs; the key document is fetched with urllib where the seed uses httpx (same dict); the keys and receipts are
verified with `expected_workspace_id` as well.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from typing import Dict, List, Optional

import pytest

from allowly import Allowly
from allowly.identifiers import from_email
from allowly.verify import VerificationError, load_keys_from_json, verify_receipt

PEPPER = "test-pepper-not-a-secret"


@dataclass
class User:
    id: str
    email: str
    allowly_authorization_id: Optional[str] = None


class Users:
    def __init__(self) -> None:
        self.rows: Dict[str, User] = {}

    async def update(self, user_id: str, **fields: str) -> None:
        for k, v in fields.items():
            setattr(self.rows[user_id], k, v)


class Db:
    def __init__(self) -> None:
        self.users = Users()


async def test_seed_walkthrough(server: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWLY_KEY", server["runtime_api_key"])
    monkeypatch.setenv("ALLOWLY_PII_PEPPER", PEPPER)
    workspace_id = server["workspace_id"]
    db = Db()
    user = User(id="u1", email="alice@example.com")
    db.users.rows[user.id] = user
    sent: List[str] = []
    asked: List[Optional[str]] = []

    async def send_email(thread_id: str) -> None:
        sent.append(thread_id)

    async def ask_user(hint: Optional[str]) -> bool:
        asked.append(hint)
        return True

    # Step 1 — Create an authorization
    allowly = Allowly(api_key=os.environ["ALLOWLY_KEY"], base_url=server["base_url"], allow_insecure_http=True)
    allowly_user_id = from_email(user.email, pepper=os.environ["ALLOWLY_PII_PEPPER"])
    authorization = await allowly.authorizations.create(
        user_id=allowly_user_id,
        agent_id="my-email-agent",
        scopes=["email.read", "email.send"],
        expires_at="2027-12-31T00:00:00Z",
        metadata={"source": "onboarding"},
        requires_confirm_for=["email.send"],
    )
    await db.users.update(user.id, allowly_authorization_id=authorization.authorization_id)
    assert authorization.receipt.status == "pending"  # signed asynchronously
    assert authorization.user_id == allowly_user_id and allowly_user_id.startswith("email_hmac:v1:")
    assert authorization.metadata == {"source": "onboarding"}

    budgeted = await allowly.authorizations.create(
        user_id=allowly_user_id,
        agent_id="research-agent",
        scopes=["llm.enrich"],
        expires_at="2027-12-31T00:00:00Z",
        budget_limit_micros=50_000_000,  # $50.00
    )
    assert budgeted.budget_limit_micros == 50_000_000

    # Step 2 — Check before every action
    result = await allowly.check(
        authorization_id=user.allowly_authorization_id,
        scopes=["email.send"],
        resource="gmail:thread:abc123",
        context={"initiated_by": "user", "origin": "chat"},
    )
    scope_result = result.results["email.send"]
    if scope_result.decision == "allow":
        await send_email(thread_id="abc123")
    elif scope_result.decision == "confirm":
        # User must approve this specific action before it proceeds
        approved = await ask_user(scope_result.confirm_prompt_hint)
        await allowly.confirmations.approve(scope_result.confirm_nonce, approved=approved)
        if approved:
            # Re-check — now returns allow
            retry = await allowly.check(authorization_id=user.allowly_authorization_id, scopes=["email.send"])
            if retry.results["email.send"].decision == "allow":
                await send_email(thread_id="abc123")
    else:
        match scope_result.reason:
            case "rate_limit_exceeded":
                raise Exception("Daily limit reached — try again tomorrow.")
            case "authorization_revoked" | "authorization_expired":
                raise Exception(f"Authorization no longer valid: {scope_result.reason}")
            case _:
                raise Exception(f"Allowly denied: {scope_result.reason}")
    assert scope_result.decision == "confirm" and scope_result.reason == "scope_requires_user_confirmation"
    assert len(asked) == 1 and sent == ["abc123"], "the confirm branch ran through to the send"
    assert "confirm_nonce=<redacted>" in repr(scope_result) and scope_result.confirm_nonce not in repr(result)
    assert scope_result.receipt.status == "pending"

    # Optional Pro+ budgeted check
    result = await allowly.check(
        authorization_id=budgeted.authorization_id,
        scopes=["llm.enrich"],
        estimated_cost_micros=24_000,
    )
    scope_result = result.results["llm.enrich"]
    if scope_result.reason == "budget_exceeded":
        raise Exception("This action would exceed the authorization budget.")
    assert scope_result.decision == "allow"
    assert scope_result.budget.limit_micros == 50_000_000 and scope_result.budget.spent_after_micros == 24_000
    settlement = await allowly.budget.settle(
        check_receipt_id=scope_result.receipt.receipt_id, actual_cost_micros=20_000
    )
    assert settlement.delta_micros == -4_000 and settlement.spent_after_micros == 20_000

    # Step 3 — Fetch and verify the signed receipt
    # Fetch your workspace's public keys once and cache them
    with urllib.request.urlopen(f"{server['base_url']}/v1/workspaces/{workspace_id}/keys") as response:
        keys_doc = json.load(response)
    keys = load_keys_from_json(keys_doc)
    assert keys == await allowly.keys.fetch(workspace_id)

    # Poll until signed (default: 1s interval, 30s timeout)
    signed_receipt = await allowly.receipts.fetch_signed(scope_result.receipt.receipt_id)

    # Verify offline — no API call
    verified = verify_receipt(signed_receipt, keys)  # raises VerificationError if invalid
    assert (verified.receipt_id, verified.name, verified.decision) == (signed_receipt.receipt_id, "llm.enrich", "allow")
    verify_receipt(signed_receipt, keys, expected_workspace_id=workspace_id)
    tampered = json.loads(signed_receipt.json)
    tampered["decision"] = "deny"
    with pytest.raises(VerificationError) as info:
        verify_receipt(tampered, keys)
    assert info.value.kind == "signature_mismatch"

    # Step 5 — Revoke when the user withdraws authorization
    result = await allowly.authorizations.revoke(user.allowly_authorization_id, revoked_by="user")
    assert result.receipt.status == "pending"  # revocation is also receipted
    after = await allowly.check(authorization_id=user.allowly_authorization_id, scopes=["email.read"])
    assert (after.results["email.read"].decision, after.results["email.read"].reason) == (
        "deny",
        "authorization_revoked",
    )
    revoke_receipt = await allowly.receipts.fetch_signed(result.receipt.receipt_id)
    assert verify_receipt(revoke_receipt, keys).name == "authorization.revoke"
    await allowly.aclose()
