"""Escalations answered by named members through the Python SDK, against the real ``allowly serve --dev``: members
created, listed, rotated and removed with the setup key (a credential shown once, never in a repr or ``to_dict``),
``client.escalations.resolve / approve / reject / wait`` with a member's own credential, 0.8.0's ``resolved_by=``
keyword passed through to the server's check, and ``escalation_targets`` given as one ``"member:<id>"`` string."""

from __future__ import annotations

import itertools
from typing import Any, Dict, Tuple

import pytest

import allowly
from conftest import client_kwargs

_ids = itertools.count()


def _name(prefix: str) -> str:
    return f"{prefix}-py-{next(_ids)}"


def _setup(server: Dict[str, str]) -> allowly.SyncAllowly:
    return allowly.SyncAllowly(**{**client_kwargs(server), "api_key": server["setup_api_key"]})


def _as(server: Dict[str, str], credential: str) -> allowly.SyncAllowly:
    return allowly.SyncAllowly(**{**client_kwargs(server), "api_key": credential})


def _escalate(c: allowly.SyncAllowly, targets: Any) -> Tuple[str, Any]:
    auth = c.authorizations.create(user_id=_name("u"), agent_id="bot", scopes=["pay"],
                                   requires_escalation_for=["pay"], escalation_targets={"pay": targets})
    result = c.check(authorization_id=auth.authorization_id, scopes=["pay"], resource="inv:1").results["pay"]
    assert (result.decision, result.reason) == ("escalate", "scope_requires_escalation")
    return auth.authorization_id, result


def test_members_are_created_listed_rotated_and_removed(server: Dict[str, str]) -> None:
    with _setup(server) as admin:
        member_id = _name("alice")
        created = admin.admin.members.create(member_id, display_name="Alice")
        assert isinstance(created, allowly.CreatedMember)
        assert (created.member_id, created.display_name, created.revoked_at) == (member_id, "Alice", None)
        assert created.credential.startswith("allowly_mk_")
        assert created.credential not in repr(created) and "<redacted>" in repr(created)
        listed = [m for m in admin.admin.members.list() if m.member_id == member_id]
        assert len(listed) == 1 and isinstance(listed[0], allowly.Member)
        assert created.credential not in repr(listed[0]) and created.credential not in str(listed[0].to_dict())
        with pytest.raises(allowly.ConflictError):
            admin.admin.members.create(member_id)
        with pytest.raises(allowly.ValidationError) as bad:
            admin.admin.members.create("has space")
        assert bad.value.fields[0].field == "member_id"

        rotated = admin.admin.members.rotate_credential(member_id)
        assert rotated.credential != created.credential and rotated.credential.startswith("allowly_mk_")
        _, result = _escalate(admin, f"member:{member_id}")
        with _as(server, created.credential) as old, pytest.raises(allowly.AuthenticationError):
            old.escalations.get_status(result.escalation_id)
        with _as(server, rotated.credential) as member:
            assert member.escalations.get_status(result.escalation_id).escalation_to == f"member:{member_id}"

        revoked = admin.admin.members.revoke(member_id)
        assert isinstance(revoked, allowly.MemberRevocation) and revoked.member_id == member_id and revoked.revoked_at
        with _as(server, rotated.credential) as gone, pytest.raises(allowly.AuthenticationError):
            gone.escalations.approve(result.escalation_id)
        with pytest.raises(allowly.NotFoundError):
            admin.admin.members.rotate_credential(member_id)


def test_a_runtime_key_cannot_manage_members(sync_client: allowly.SyncAllowly) -> None:
    with pytest.raises(allowly.PermissionDeniedError) as denied:
        sync_client.admin.members.list()
    assert denied.value.code == "insufficient_key_tier"


async def test_two_levels_answered_by_their_members(server: Dict[str, str], client: allowly.Allowly) -> None:
    with _setup(server) as admin:
        l1, l2 = (admin.admin.members.create(_name(p)) for p in ("l1", "l2"))
        _, result = _escalate(admin, [f"member:{l1.member_id}", f"member:{l2.member_id}"])
    esc = result.escalation_id
    assert result.escalation_to == f"member:{l1.member_id}"
    with pytest.raises(allowly.PermissionDeniedError) as denied:
        await client.escalations.approve(esc)
    assert denied.value.code == "member_credential_required"

    async with allowly.Allowly(**{**client_kwargs(server), "api_key": l1.credential}) as first:
        with pytest.raises(allowly.PermissionDeniedError) as mismatch:
            await first.escalations.approve(esc, resolved_by=f"member:{l2.member_id}")
        assert mismatch.value.code == "resolved_by_mismatch"
        step = await first.escalations.approve(esc, resolved_by=f"member:{l1.member_id}", note="fine by me")
    assert isinstance(step, allowly.EscalationResolved)
    assert (step.status, step.level, step.levels, step.escalation_status, step.escalation_to) == (
        "approved", 1, 2, "pending", f"member:{l2.member_id}")
    assert step.resolved_by == f"member:{l1.member_id}" and step.receipt is not None

    async with allowly.Allowly(**{**client_kwargs(server), "api_key": l2.credential}) as second:
        done = await second.escalations.resolve(esc, resolution="approved")
        assert (done.status, done.escalation_status, done.level) == ("approved", "approved", 2)
        with pytest.raises(allowly.ConflictError) as again:
            await second.escalations.reject(esc)
        assert again.value.code == "escalation_not_pending"

    monitor = await client.escalations.wait(esc, timeout=30, poll_interval=0.05)
    assert isinstance(monitor, allowly.EscalationMonitor)
    assert (monitor.status, monitor.authority_status, monitor.resolved_by) == (
        "approved", "available", f"member:{l2.member_id}")
    assert [(s.level, s.resolution, s.resolved_by) for s in monitor.steps] == [
        (1, "approved", f"member:{l1.member_id}"), (2, "approved", f"member:{l2.member_id}")]
    assert all(isinstance(s, allowly.EscalationStep) for s in monitor.steps)


def test_a_rejection_through_the_blocking_client(server: Dict[str, str], sync_client: allowly.SyncAllowly) -> None:
    with _setup(server) as admin:
        member = admin.admin.members.create(_name("r"))
        auth_id, result = _escalate(admin, [f"member:{member.member_id}"])
    with _as(server, member.credential) as m:
        rejected = m.escalations.reject(result.escalation_id, note="no")
    assert (rejected.status, rejected.escalation_status) == ("rejected", "rejected")
    again = sync_client.check(authorization_id=auth_id, scopes=["pay"], resource="inv:1").results["pay"]
    assert (again.decision, again.reason) == ("deny", "escalation_rejected")


def test_bad_input_is_refused_before_sending(server: Dict[str, str], sync_client: allowly.SyncAllowly) -> None:
    with pytest.raises(allowly.ValidationError) as bad:
        sync_client.escalations.resolve("esc_x", resolution="maybe")
    assert bad.value.fields[0].field == "resolution"
    with pytest.raises(allowly.ValidationError) as long_note:
        sync_client.escalations.approve("esc_x", note="n" * 1001)
    assert long_note.value.fields[0].field == "note"
    with pytest.raises(allowly.ValidationError) as targets:
        sync_client.authorizations.create(user_id="u", agent_id="bot", scopes=["pay"], requires_escalation_for=["pay"])
    assert targets.value.fields[0].field == "escalation_targets"


def test_waiting_on_a_pending_escalation_times_out(server: Dict[str, str], sync_client: allowly.SyncAllowly) -> None:
    with _setup(server) as admin:
        member = admin.admin.members.create(_name("w"))
        _, result = _escalate(admin, f"member:{member.member_id}")
    with pytest.raises(allowly.TimeoutError):
        sync_client.escalations.wait(result.escalation_id, timeout=0.2, poll_interval=0.05)
