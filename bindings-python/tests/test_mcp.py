"""The MCP middleware over `Gate::step`, against the real `allowly serve --dev` and the real FastMCP 4.x and official
SDK `MCPServer`, each driven by its own client in-process on both protocol eras: 2026-07-28 (`input_required` with a
sealed `requestState`, per-request capabilities) and 2025-11-25 (`initialize`, pushed elicitation).

Every case runs for both frameworks (the `front` fixture); `ran` counts real tool-body runs."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

import allowly
import allowly.mcp
from mcp_fronts import FRONTS, NEW, OLD, Front, boss, connected, gate_options, text_of, user  # noqa: F401

from mcp.shared.exceptions import MCPError  # noqa: E402

SEND = {"to": "a@example.com", "body": "hi"}


@pytest.fixture(params=FRONTS, ids=lambda f: f.name)
def front(request: pytest.FixtureRequest) -> Front:
    return request.param


@pytest.mark.parametrize("mode", [NEW, OLD])
async def test_granted_tool_runs_and_ungranted_never_does(front, server, user, mode) -> None:
    ran: List[str] = []
    srv = front.server(gate_options(server, user, signed_in=user["user_id"]), ran)
    async with connected(front, srv, mode) as c:
        allowed = await front.call(c, "read_inbox", {})
        denied = await front.call(c, "delete_all", {})
    assert ran == ["read_inbox"]
    assert not allowed.is_error and text_of(allowed) == "3 unread"
    assert allowed.meta["allowly.ai/decision"] == "allow"
    assert len(allowed.meta["allowly.ai/receipt_ids"]) == 1
    assert denied.is_error
    assert text_of(denied) == "denied by Allowly: scope_not_in_authorization (scope delete_all)"
    assert denied.meta["allowly.ai/decision"] == "deny"


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_new_era_confirm_is_one_input_request_and_the_retry_decides(front, server, user, client, answer) -> None:
    ran: List[str] = []
    asked: List[str] = []
    srv = front.server(gate_options(server, user, signed_in=user["user_id"]), ran)
    async with connected(front, srv, NEW, answer=answer, asked=asked) as c:
        result = await front.call(c, "send_email", SEND)
    assert len(asked) == 1 and "`send_email`" in asked[0]
    receipts = result.meta["allowly.ai/receipt_ids"]
    assert len(receipts) == 3  # the confirm, the user's answer, the re-check
    if answer == "accept":
        assert ran == ["send_email"]
        assert text_of(result) == "sent to a@example.com"
        assert result.meta["allowly.ai/reason"] == "user_confirmed"
    else:
        assert ran == []
        assert result.is_error and text_of(result) == "denied by Allowly: user_rejected (scope send_email)"
    for receipt_id in receipts:
        assert (await client.receipts.fetch_signed(receipt_id, poll_interval=0.1, timeout=20)).receipt_id == receipt_id


async def _first_round(front: Front, c: Any) -> Any:
    first = await c.session.call_tool(name="send_email", arguments=SEND, allow_input_required=True)
    assert first.result_type == "input_required"
    assert list(first.input_requests) == ["allowly_confirmation"]
    return first


ACCEPT = {"allowly_confirmation": {"action": "accept", "content": {}}}


async def test_new_era_tampered_moved_and_replayed_states_are_refused(front, server, user) -> None:
    ran: List[str] = []
    srv = front.server(gate_options(server, user, signed_in=user["user_id"]), ran)
    async with connected(front, srv, NEW, answer="accept") as c:
        first = await _first_round(front, c)
        state = first.request_state
        tampered = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
        for arguments, sent in [(SEND, tampered), ({"to": "mallory@example.com", "body": "hi"}, state)]:
            with pytest.raises(MCPError) as refused:
                await c.session.call_tool(
                    name="send_email", arguments=arguments, input_responses=ACCEPT, request_state=sent,
                    allow_input_required=True,
                )
            assert refused.value.code == -32602
        assert ran == []
        done = await c.session.call_tool(
            name="send_email", arguments=SEND, input_responses=ACCEPT, request_state=state, allow_input_required=True
        )
        assert not done.is_error and ran == ["send_email"]
        with pytest.raises(MCPError) as replayed:
            await c.session.call_tool(
                name="send_email", arguments=SEND, input_responses=ACCEPT, request_state=state,
                allow_input_required=True,
            )
    assert replayed.value.code == -32602 and "already used" in replayed.value.error.message
    assert ran == ["send_email"]


async def test_new_era_client_without_elicitation_gets_32021_never_a_push(front, server, user) -> None:
    ran: List[str] = []
    srv = front.server(gate_options(server, user, signed_in=user["user_id"]), ran)
    async with connected(front, srv, NEW) as c:
        with pytest.raises(MCPError) as refused:
            await c.session.call_tool(name="send_email", arguments=SEND, allow_input_required=True)
        allowed = await front.call(c, "read_inbox", {})
    assert refused.value.code == -32021
    assert refused.value.error.data == {"requiredCapabilities": {"elicitation": {"form": {}}}}
    assert ran == ["read_inbox"] and not allowed.is_error


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_old_era_pushes_elicitation(front, server, user, answer) -> None:
    ran: List[str] = []
    asked: List[str] = []
    srv = front.server(gate_options(server, user, signed_in=user["user_id"]), ran)
    async with connected(front, srv, OLD, answer=answer, asked=asked) as c:
        result = await front.call(c, "send_email", SEND)
    assert len(asked) == 1 and "`send_email`" in asked[0]
    assert len(result.meta["allowly.ai/receipt_ids"]) == 3
    if answer == "accept":
        assert ran == ["send_email"] and text_of(result) == "sent to a@example.com"
    else:
        assert ran == [] and text_of(result) == "denied by Allowly: user_rejected (scope send_email)"


async def test_old_era_client_without_elicitation_gets_the_error_result_naming_the_confirmation(
    front, server, user
) -> None:
    ran: List[str] = []
    srv = front.server(gate_options(server, user, signed_in=user["user_id"]), ran)
    async with connected(front, srv, OLD) as c:
        result = await front.call(c, "send_email", SEND)
    assert ran == [] and result.is_error
    text = text_of(result)
    assert text.startswith("confirmation required by Allowly: scope_requires_user_confirmation")
    assert "(confirmation " in text and "no elicitation support" in text
    assert result.meta["allowly.ai/decision"] == "confirm"


@pytest.mark.parametrize("mode", [NEW, OLD])
async def test_a_user_id_argument_never_changes_whose_authorization_is_used(front, server, user, boss, mode) -> None:
    ran: List[str] = []
    # Signed in as `user`, the model names `boss` (who may delete_all): the call still runs under `user`.
    srv = front.server(gate_options(server, user, boss, signed_in=user["user_id"]), ran)
    async with connected(front, srv, mode) as c:
        as_boss = await front.call(c, "delete_all", {"user_id": boss["user_id"]})
    # No trusted identity at all: the argument does not stand in for one.
    srv = front.server(gate_options(server, user, boss, signed_in=None), ran)
    async with connected(front, srv, mode) as c:
        anonymous = await front.call(c, "delete_all", {"user_id": boss["user_id"]})
    assert ran == []
    assert text_of(as_boss) == "denied by Allowly: scope_not_in_authorization (scope delete_all)"
    assert text_of(anonymous) == allowly.mcp.NO_TRUSTED_IDENTITY_HELP
    assert anonymous.meta["allowly.ai/reason"] == "no_trusted_identity"


async def test_user_id_from_arguments_is_an_explicit_opt_in(front, server, user) -> None:
    ran: List[str] = []
    srv = front.server(gate_options(server, user, signed_in=None, user_id_from_arguments=True), ran)
    async with connected(front, srv, NEW) as c:
        allowed = await front.call(c, "read_inbox", {"user_id": user["user_id"]})
        unknown = await front.call(c, "read_inbox", {"user_id": "someone-else"})
    assert ran == ["read_inbox"] and text_of(allowed) == "3 unread"
    assert unknown.is_error and "authorization_not_found" in text_of(unknown)


async def test_unreachable_server_fails_closed(front, server, user, closed_port) -> None:
    ran: List[str] = []
    options = gate_options(server, user, signed_in=user["user_id"], base_url=f"http://127.0.0.1:{closed_port}")
    async with connected(front, front.server(options, ran), NEW) as c:
        result = await front.call(c, "read_inbox", {})
    assert ran == [] and text_of(result).startswith("denied by Allowly: fallback_closed_")


def test_the_options_are_checked_and_the_seed_import_is_the_same_class() -> None:
    assert allowly.AllowlyMCPMiddleware is allowly.mcp.AllowlyMCPMiddleware
    with pytest.raises(ValueError):
        allowly.AllowlyMCPMiddleware(api_key="k", authorization_id_fn=str, user_id_fn=str, user_id_from_arguments=True)
