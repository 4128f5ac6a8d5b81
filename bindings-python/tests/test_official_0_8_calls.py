"""Calls spelled the way the official 0.8.0 SDK documents them run on this SDK unchanged."""

import json
from datetime import datetime, timezone

import pytest

import allowly


async def test_check_takes_actions_client_timestamp_and_idempotency_key(client: allowly.Allowly) -> None:
    auth = await client.authorizations.create(user_id="u-080", agent_id="agent-080", scopes=["email.read"])
    stamp = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)
    first = await client.check(
        authorization_id=auth.authorization_id,
        actions=["email.read"],
        client_timestamp=stamp,
        idempotency_key="order-7-check",
    )
    assert first.results["email.read"].decision == "allow"
    assert first.engine_version.startswith("sha256:") and len(first.engine_version) == 71
    # The caller's own key: asking again answers the first answer (same receipt), not a second decision.
    again = await client.check(
        authorization_id=auth.authorization_id,
        actions=["email.read"],
        client_timestamp=stamp,
        idempotency_key="order-7-check",
    )
    receipt_id = first.results["email.read"].receipt.receipt_id
    assert again.results["email.read"].receipt.receipt_id == receipt_id
    signed = await client.receipts.fetch_signed(receipt_id)
    assert json.loads(signed.json)["context"]["client_timestamp"] == stamp.isoformat()


async def test_bad_0_8_arguments_are_refused_before_sending(client: allowly.Allowly) -> None:
    with pytest.raises(TypeError, match="exactly one of scopes= or actions="):
        await client.check(authorization_id="auth_x", scopes=["a"], actions=["a"])
    with pytest.raises(TypeError):
        await client.check(authorization_id="auth_x")
    with pytest.raises(allowly.ValidationError, match="client_timestamp"):
        await client.check(authorization_id="auth_x", actions=["a"], client_timestamp=datetime(2026, 1, 1))
    with pytest.raises(allowly.ValidationError, match="idempotency_key"):
        await client.check(authorization_id="auth_x", actions=["a"], idempotency_key="two words")
