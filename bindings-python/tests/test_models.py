"""Result classes: real classes with equality, `to_dict()` in the wire shape, and reprs without secrets."""

from __future__ import annotations

from typing import Dict

import allowly


async def test_results_are_comparable_dicts_and_safe_reprs(client: allowly.Allowly, server: Dict[str, str]) -> None:
    auth = await client.authorizations.create(
        user_id="u-models",
        agent_id="agent-m",
        scopes=["a", {"name": "b", "constraints": {"max_per_day": 5, "confirm_prompt": "OK?"}}],
        requires_confirm_for=["b"],
        metadata={"n": 1, "nested": {"list": [1, 2.5, None, True]}},
    )
    assert isinstance(auth, allowly.Authorization)
    assert auth.scopes == ["a", "b"]
    as_dict = auth.to_dict()
    assert as_dict["scopes"][1] == {"name": "b", "constraints": {"max_per_day": 5, "confirm_prompt": "OK?"}}
    assert as_dict["metadata"] == {"n": 1, "nested": {"list": [1, 2.5, None, True]}}
    assert as_dict["receipt"]["status"] == "pending"
    # Let the create receipt get signed first: a pending envelope carries a fresh `ready_at_estimate` on every read,
    # so two reads are only equal once the receipt has settled.
    await client.receipts.fetch_signed(auth.receipt.receipt_id)
    fetched = await client.authorizations.get(auth.authorization_id)
    assert fetched == await client.authorizations.get(auth.authorization_id)
    assert fetched.status == "active" and auth.status is None
    assert repr(auth).startswith("Authorization(authorization_id='auth_")

    result = await client.check(authorization_id=auth.authorization_id, scopes=["a", "b"])
    b = result.results["b"]
    assert (b.decision, b.confirm_prompt_hint) == ("confirm", "OK?")
    assert b.confirm_nonce and b.confirm_nonce not in repr(b) and b.confirm_nonce not in repr(result)
    assert result.to_dict()["results"]["b"]["decision"] == "confirm"
    assert result.is_allowed("a") and not result.all_allowed() and not result.is_fallback
    assert isinstance(b.receipt, allowly.Receipt) and b.receipt.receipt_id.startswith("rcp_")

    signed = await client.receipts.fetch_signed(result.results["a"].receipt.receipt_id)
    again = await client.receipts.get(signed.receipt_id)
    assert again.is_signed and again.signed == signed and again.status == "signed"
    assert signed.to_dict()["receipt_id"] == signed.receipt_id and str(signed) == signed.json
    keys = await client.keys.fetch(server["workspace_id"])
    assert allowly.verify.verify_receipt(again, keys).receipt_id == signed.receipt_id  # a signed envelope verifies too

    api_key = server["runtime_api_key"]
    assert api_key not in repr(client) and api_key not in repr(client._native)
