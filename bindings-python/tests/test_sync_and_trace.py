"""The blocking client, the GIL policy, and `trace(...)` context — against the real dev server."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Dict

import allowly
from allowly import trace


def test_sync_client_lifecycle(sync_client: allowly.SyncAllowly, server: Dict[str, str]) -> None:
    auth = sync_client.authorizations.create(
        user_id="u-sync", agent_id="a", scopes=["email.read", "email.send"], requires_confirm_for=["email.send"]
    )
    assert isinstance(auth, allowly.Authorization) and auth.receipt.status == "pending"
    first = sync_client.check(authorization_id=auth.authorization_id, scopes=["email.send"])
    result = first.results["email.send"]
    assert result.decision == "confirm"
    resolution = sync_client.confirmations.approve(result.confirm_nonce, approved=True)
    assert resolution.decision == "approved"
    again = sync_client.check(authorization_id=auth.authorization_id, scopes=["email.send"])
    assert (again.results["email.send"].decision, again.results["email.send"].reason) == ("allow", "user_confirmed")
    assert sync_client.confirmations.get(result.confirmation_id).status == "consumed"
    keys = sync_client.keys.fetch(server["workspace_id"])
    signed = sync_client.receipts.fetch_signed(again.results["email.send"].receipt.receipt_id)
    verified = allowly.verify.verify_receipt(signed, keys, expected_workspace_id=server["workspace_id"])
    assert verified.reason == "user_confirmed"
    assert sync_client.authorizations.get(auth.authorization_id).status == "active"
    sync_client.authorizations.revoke(auth.authorization_id, revoked_by="admin", notes="test")
    assert sync_client.authorizations.get(auth.authorization_id).status == "revoked"


def test_blocking_calls_release_the_gil(silent_peer: str) -> None:
    """While one thread waits on the network, another keeps running Python."""
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    client = allowly.SyncAllowly(
        api_key="allowly_rt_" + "0" * 32, base_url=silent_peer, allow_insecure_http=True, check_timeout=0.5
    )
    counter = threading.Thread(target=count)
    counter.start()
    started = time.monotonic()
    result = client.check(authorization_id="auth_x", scopes=["a"])
    done.set()
    counter.join()
    assert result.results["a"].reason == "fallback_closed_timeout"
    assert time.monotonic() - started >= 0.45
    assert ticks > 50, f"the other thread barely ran ({ticks} ticks): the GIL was held while waiting"


async def test_trace_values_reach_the_receipt_context(client: allowly.Allowly) -> None:
    auth = await client.authorizations.create(user_id="u-trace", agent_id="agent-t", scopes=["email.read"])
    with trace(run_id="run_42", agent_id="planner"):
        assert allowly.current_trace() == {"run_id": "run_42", "agent_id": "planner"}
        with trace(step=3):
            result = await client.check(
                authorization_id=auth.authorization_id, scopes=["email.read"], context={"origin": "chat", "step": 9}
            )
        untraced_inside = await client.check(authorization_id=auth.authorization_id, scopes=["email.read"])
    outside = await client.check(authorization_id=auth.authorization_id, scopes=["email.read"])
    assert allowly.current_trace() == {}

    async def context_of(check: allowly.CheckResult) -> dict:
        signed = await client.receipts.fetch_signed(check.results["email.read"].receipt.receipt_id)
        return signed.to_dict()["context"]

    # The check's own context wins over the trace (step 9, not 3).
    assert await context_of(result) == {"origin": "chat", "step": 9, "run_id": "run_42", "agent_id": "planner"}
    assert await context_of(untraced_inside) == {"run_id": "run_42", "agent_id": "planner"}
    assert await context_of(outside) == {}


async def test_trace_is_per_task(client: allowly.Allowly) -> None:
    async def traced(run: str) -> dict:
        with trace(run_id=run):
            await asyncio.sleep(0.01)
            return allowly.current_trace()

    a, b = await asyncio.gather(traced("a"), traced("b"))
    assert (a, b) == ({"run_id": "a"}, {"run_id": "b"})


async def test_many_checks_in_flight(client: allowly.Allowly) -> None:
    auth = await client.authorizations.create(user_id="u-many", agent_id="a", scopes=["x"])
    results = await asyncio.gather(
        *(client.check(authorization_id=auth.authorization_id, scopes=["x"]) for _ in range(64))
    )
    assert {r.results["x"].decision for r in results} == {"allow"}
    assert len({r.results["x"].receipt.receipt_id for r in results}) == 64
