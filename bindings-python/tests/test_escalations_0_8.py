"""`client.escalations.get_status` / `.get` as the official 0.8.0 SDK documents them, against the real dev server's
demo edition (`walkthrough`: `email.send` to more than 50 recipients escalates to `member:compliance`)."""

from typing import Any, Dict

import pytest

import allowly


async def _escalated(client: allowly.Allowly, server: Dict[str, Any]) -> Any:
    ready = server["policy"]
    auth = await client.authorizations.create(user_id="subject:escalation", policy_id=ready["policy_id"],
                                              policy_version=ready["policy_version"])
    result = (await client.check(authorization_id=auth.authorization_id, actions=["email.send"],
                                 context={"recipient_count": 80})).results["email.send"]
    assert (result.decision, result.escalation_to) == ("escalate", "member:compliance")
    return auth, result


async def test_get_status_reads_a_pending_escalation(client: allowly.Allowly, server: Dict[str, Any]) -> None:
    auth, result = await _escalated(client, server)
    status = await client.escalations.get_status(result.escalation_id)
    assert isinstance(status, allowly.EscalationMonitor)
    assert (status.escalation_id, status.authorization_id, status.action) == (
        result.escalation_id, auth.authorization_id, "email.send")
    assert (status.status, status.authority_status, status.escalation_to) == ("pending", "none", "member:compliance")
    assert status.source_receipt_id == result.receipt.receipt_id
    assert status.resolved_at is None and status.consumed_at is None
    assert (await client.escalations.get(result.escalation_id)) == status  # 0.8.0's alias
    assert status.to_dict()["escalation_id"] == result.escalation_id


def test_sync_client_reads_it_too(sync_client: allowly.SyncAllowly, server: Dict[str, Any]) -> None:
    ready = server["policy"]
    auth = sync_client.authorizations.create(user_id="subject:escalation-sync", policy_id=ready["policy_id"],
                                             policy_version=ready["policy_version"])
    result = sync_client.check(authorization_id=auth.authorization_id, actions=["email.send"],
                               context={"recipient_count": 80}).results["email.send"]
    assert sync_client.escalations.get_status(result.escalation_id).status == "pending"


async def test_unknown_escalation_is_not_found(client: allowly.Allowly) -> None:
    with pytest.raises(allowly.NotFoundError):
        await client.escalations.get_status("esc_" + "0" * 26)
