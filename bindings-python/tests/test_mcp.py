"""The MCP middleware against the real `allowly serve --dev`: a real FastMCP server and a real official-SDK
`MCPServer`, each with the middleware, driven by that framework's own MCP client in-process.

Every tool appends to `ran` when its body executes, so a denied call is proven never to have run. Elicitation needs
a back-channel, so the confirm round trip uses handshake-era connections (`mode="legacy"`); a client without an
elicitation handler gets the error result with the prompt hint and confirmation id instead."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional

import pytest

import allowly
from conftest import client_kwargs

fastmcp = pytest.importorskip("fastmcp")
mcp_sdk = pytest.importorskip("mcp.server.mcpserver")

from fastmcp.exceptions import ToolError  # noqa: E402
from mcp import Client as SdkClient  # noqa: E402
from mcp import types as mt  # noqa: E402

from allowly.mcp import AllowlyMCPMiddleware, AllowlyMCPServerMiddleware  # noqa: E402

@pytest.fixture
async def user(client: allowly.Allowly) -> Dict[str, str]:
    """A user whose authorization grants read_inbox outright, send_email with confirmation, and not delete_all."""
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    auth = await client.authorizations.create(
        user_id=user_id,
        agent_id="mcp-test-agent",
        scopes=["read_inbox", "send_email"],
        requires_confirm_for=["send_email"],
    )
    return {"user_id": user_id, "authorization_id": auth.authorization_id}


def gate_options(
    server: Dict[str, str], user: Dict[str, str], signed_in: Optional[str], **extra: Any
) -> Dict[str, Any]:
    """The server's trusted context is `signed_in` (what its auth layer would say); the lookup is its database."""
    kwargs = client_kwargs(server)
    table = {user["user_id"]: user["authorization_id"]}

    async def authorization_id_fn(user_id: str) -> Optional[str]:
        return table.get(user_id)

    options: Dict[str, Any] = {
        "api_key": kwargs["api_key"],
        "base_url": kwargs["base_url"],
        "allow_insecure_http": True,
        "authorization_id_fn": authorization_id_fn,
    }
    if "user_id_from_arguments" not in extra:
        options["user_id_fn"] = lambda ctx: signed_in
    options.update(extra)
    return options


# ---------------------------------------------------------------- FastMCP 4.x


def fastmcp_server(options: Dict[str, Any], ran: List[str]) -> Any:
    server = fastmcp.FastMCP("allowly-test")
    server.add_middleware(allowly.AllowlyMCPMiddleware(**options))

    @server.tool()
    def read_inbox(user_id: str = "") -> str:
        ran.append("read_inbox")
        return "3 unread"

    @server.tool()
    def send_email(to: str, body: str, user_id: str = "") -> str:
        ran.append("send_email")
        return f"sent to {to}"

    @server.tool()
    def delete_all(user_id: str = "") -> str:
        ran.append("delete_all")
        return "deleted"

    return server


def text_of(result: Any) -> str:
    return result.content[0].text


async def test_fastmcp_allow_runs_the_tool(server, user) -> None:
    ran: List[str] = []
    async with fastmcp.Client(fastmcp_server(gate_options(server, user, user["user_id"]), ran)) as c:
        result = await c.call_tool("read_inbox", {})
    assert ran == ["read_inbox"]
    assert text_of(result) == "3 unread"
    assert result.meta["allowly.ai/decision"] == "allow"
    assert len(result.meta["allowly.ai/receipt_ids"]) == 1


async def test_fastmcp_deny_never_runs_the_tool(server, user) -> None:
    ran: List[str] = []
    async with fastmcp.Client(fastmcp_server(gate_options(server, user, user["user_id"]), ran)) as c:
        result = await c.call_tool("delete_all", {}, raise_on_error=False)
        with pytest.raises(ToolError, match="denied by Allowly"):
            await c.call_tool("delete_all", {})
    assert ran == []
    assert result.is_error
    assert text_of(result).startswith("denied by Allowly: ")
    assert "(scope delete_all)" in text_of(result)
    assert result.meta["allowly.ai/decision"] == "deny"


async def test_fastmcp_fails_closed_without_identity_and_ignores_argument_identity(server, user) -> None:
    ran: List[str] = []
    # No trusted identity: a user_id in the arguments must not stand in for it.
    async with fastmcp.Client(fastmcp_server(gate_options(server, user, None), ran)) as c:
        result = await c.call_tool("read_inbox", {"user_id": user["user_id"]}, raise_on_error=False)
    assert ran == []
    assert text_of(result) == "denied by Allowly: authorization_not_found (scope read_inbox)"


async def test_fastmcp_user_id_from_arguments_opt_in(server, user) -> None:
    ran: List[str] = []
    options = gate_options(server, user, None, user_id_from_arguments=True)
    async with fastmcp.Client(fastmcp_server(options, ran)) as c:
        allowed = await c.call_tool("read_inbox", {"user_id": user["user_id"]})
        unknown = await c.call_tool("read_inbox", {"user_id": "someone-else"}, raise_on_error=False)
    assert ran == ["read_inbox"]
    assert text_of(allowed) == "3 unread"
    assert unknown.is_error and "authorization_not_found" in text_of(unknown)


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_fastmcp_confirm_round_trip_through_elicitation(server, user, client, answer) -> None:
    ran: List[str] = []
    asked: List[str] = []

    async def elicitation_handler(message: str, response_type: Any, params: Any, context: Any) -> Any:
        asked.append(message)
        return mt.ElicitResult(action=answer, content={} if answer == "accept" else None)

    srv = fastmcp_server(gate_options(server, user, user["user_id"], scope_fn=lambda tool: tool), ran)
    async with fastmcp.Client(srv, elicitation_handler=elicitation_handler, mode="legacy") as c:
        result = await c.call_tool("send_email", {"to": "a@example.com", "body": "hi"}, raise_on_error=False)
    assert len(asked) == 1 and "`send_email`" in asked[0]
    receipts = result.meta["allowly.ai/receipt_ids"]
    assert len(receipts) == 3  # the confirm, the user's answer, the re-check
    if answer == "accept":
        assert ran == ["send_email"]
        assert text_of(result) == "sent to a@example.com"
        assert result.meta["allowly.ai/reason"] == "user_confirmed"
    else:
        assert ran == []
        assert text_of(result) == "denied by Allowly: user_rejected (scope send_email)"
    for receipt_id in receipts:  # every decision is receipted and signed
        assert (await client.receipts.fetch_signed(receipt_id, poll_interval=0.1, timeout=20)).receipt_id == receipt_id


async def test_fastmcp_confirm_without_elicitation_returns_hint_and_id(server, user) -> None:
    ran: List[str] = []
    async with fastmcp.Client(fastmcp_server(gate_options(server, user, user["user_id"]), ran)) as c:
        result = await c.call_tool("send_email", {"to": "a@example.com", "body": "hi"}, raise_on_error=False)
    assert ran == []
    text = text_of(result)
    assert result.is_error
    assert text.startswith("confirmation required by Allowly: scope_requires_user_confirmation")
    assert "(confirmation " in text and "no elicitation support" in text
    assert result.meta["allowly.ai/decision"] == "confirm"


async def test_fastmcp_unreachable_server_fails_closed(server, user, closed_port) -> None:
    ran: List[str] = []
    options = gate_options(server, user, user["user_id"], base_url=f"http://127.0.0.1:{closed_port}")
    async with fastmcp.Client(fastmcp_server(options, ran)) as c:
        result = await c.call_tool("read_inbox", {}, raise_on_error=False)
    assert ran == []
    assert text_of(result).startswith("denied by Allowly: fallback_closed_")


# ---------------------------------------------------------------- official MCP SDK 2.x


def sdk_server(options: Dict[str, Any], ran: List[str]) -> Any:
    server = mcp_sdk.MCPServer("allowly-test", middleware=[AllowlyMCPServerMiddleware(**options)])

    @server.tool()
    def read_inbox() -> str:
        ran.append("read_inbox")
        return "3 unread"

    @server.tool()
    def send_email(to: str, body: str) -> str:
        ran.append("send_email")
        return f"sent to {to}"

    @server.tool()
    def delete_all() -> str:
        ran.append("delete_all")
        return "deleted"

    return server


async def test_sdk_allow_and_deny(server, user) -> None:
    ran: List[str] = []
    async with SdkClient(sdk_server(gate_options(server, user, user["user_id"]), ran)) as c:
        allowed = await c.call_tool("read_inbox", {})
        denied = await c.call_tool("delete_all", {})
    assert ran == ["read_inbox"]
    assert not allowed.is_error and text_of(allowed) == "3 unread"
    assert allowed.meta["allowly.ai/decision"] == "allow"
    assert denied.is_error
    assert text_of(denied).startswith("denied by Allowly: ") and "(scope delete_all)" in text_of(denied)


async def test_sdk_fails_closed_without_identity(server, user) -> None:
    ran: List[str] = []
    async with SdkClient(sdk_server(gate_options(server, user, None), ran)) as c:
        result = await c.call_tool("read_inbox", {})
    assert ran == [] and result.is_error
    assert text_of(result) == "denied by Allowly: authorization_not_found (scope read_inbox)"


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_sdk_confirm_round_trip_through_elicitation(server, user, answer) -> None:
    ran: List[str] = []
    asked: List[str] = []

    async def elicitation_callback(context: Any, params: Any) -> Any:
        asked.append(params.message)
        return mt.ElicitResult(action=answer, content={} if answer == "accept" else None)

    srv = sdk_server(gate_options(server, user, user["user_id"]), ran)
    async with SdkClient(srv, elicitation_callback=elicitation_callback, mode="legacy") as c:
        result = await c.call_tool("send_email", {"to": "a@example.com", "body": "hi"})
    assert len(asked) == 1 and "`send_email`" in asked[0]
    assert len(result.meta["allowly.ai/receipt_ids"]) == 3
    if answer == "accept":
        assert ran == ["send_email"] and text_of(result) == "sent to a@example.com"
        assert result.meta["allowly.ai/reason"] == "user_confirmed"
    else:
        assert ran == [] and result.is_error
        assert text_of(result) == "denied by Allowly: user_rejected (scope send_email)"


async def test_sdk_confirm_without_elicitation_returns_hint_and_id(server, user) -> None:
    ran: List[str] = []
    async with SdkClient(sdk_server(gate_options(server, user, user["user_id"]), ran)) as c:
        result = await c.call_tool("send_email", {"to": "a@example.com", "body": "hi"})
    assert ran == [] and result.is_error
    assert text_of(result).startswith("confirmation required by Allowly: ")
    assert "(confirmation " in text_of(result)


# ---------------------------------------------------------------- the native gate's objects


async def test_outcome_repr_and_meta_carry_no_secret(server, user) -> None:
    gate = allowly.mcp.AllowlyGate(**gate_options(server, user, user["user_id"]))
    outcome = await gate.on_tool_call("send_email", {"to": "x"}, None)
    assert outcome.decision == "confirm" and outcome.confirmation_id
    for text in (repr(outcome), repr(gate), repr(gate._native), str(outcome.meta()), outcome.refusal("unsupported")):
        assert server["runtime_api_key"] not in text
        assert "nonce" not in text.lower()
    assert not hasattr(outcome, "nonce") and not hasattr(outcome, "confirm_nonce")
    text = outcome.refusal("unsupported")
    assert f"(confirmation {outcome.confirmation_id})" in text
    if outcome.prompt_hint:
        assert f"ask the user: {outcome.prompt_hint}" in text and outcome.prompt_hint in outcome.elicitation_message
    assert outcome.refusal() == "denied by Allowly: scope_requires_user_confirmation still pending"
    resolved = await gate._native.resolve_confirmation(outcome, True)
    assert resolved.is_allowed and resolved.reason == "user_confirmed"
    assert len(resolved.receipt_ids) == 3
    with pytest.raises(allowly.ValidationError):
        await gate._native.resolve_confirmation(resolved, True)  # only a confirm can be resolved
    with pytest.raises(allowly.ValidationError):
        resolved.refusal()
    await gate.close()


def test_seed_import_and_extras_are_the_same_class() -> None:
    assert allowly.AllowlyMCPMiddleware is AllowlyMCPMiddleware
    with pytest.raises(ValueError):
        AllowlyMCPMiddleware(api_key="k", authorization_id_fn=str, user_id_fn=str, user_id_from_arguments=True)
