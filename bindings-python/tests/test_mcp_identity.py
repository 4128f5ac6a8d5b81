"""Whose authorization an MCP tool call runs under, and what guards the 2026-07-28 `requestState`, for both Python
MCP frameworks against the real `allowly serve --dev`.

- The walkthrough's step-4 code on a real stdio FastMCP server (a subprocess) has no trusted identity: every call
  gets exactly the gate's NO_TRUSTED_IDENTITY_HELP, and the tool never runs.
- Without a `user_id_fn`, the identity is the subject of the access token the server's auth validated (over real
  streamable HTTP with FastMCP's bearer auth, and in-process set the way the SDK's auth middleware sets it), never a
  `user_id` argument.
- With a request-state codec that seals nothing (so the framework's own envelope checks can be satisfied by hand),
  the gate's sealed state still refuses a tampered state and one moved to other arguments."""

from __future__ import annotations

import base64
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List

import pytest

import allowly
import allowly.mcp
from conftest import client_kwargs
from mcp_fronts import FRONTS, NEW, OLD, Front, boss, connected, gate_options, text_of, user  # noqa: F401

from fastmcp.client.transports import PythonStdioTransport  # noqa: E402
from mcp.server.auth.middleware.auth_context import auth_context_var  # noqa: E402
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser  # noqa: E402
from mcp.server.auth.provider import AccessToken  # noqa: E402
from mcp.server.request_state import InvalidRequestState, RequestStateSecurity, _request_identity  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

import fastmcp  # noqa: E402

SEND = {"to": "a@example.com", "body": "hi"}
ACCEPT = {"allowly_confirmation": {"action": "accept", "content": {}}}


@pytest.fixture(params=FRONTS, ids=lambda f: f.name)
def front(request: pytest.FixtureRequest) -> Front:
    return request.param


# The seed's step 4, verbatim but for `fastmcp` (mcp 2.x removed `mcp.server.fastmcp`: FastMCP is its own package),
# the local server's URL, a fake `db`, and a tool body that records that it ran.
WALKTHROUGH_STEP_4 = textwrap.dedent(
    """
    import os
    from fastmcp import FastMCP
    from allowly import AllowlyMCPMiddleware

    class Db:
        def get_authorization_id(self, user_id):
            return os.environ["TEST_AUTHORIZATION_ID"]

    db = Db()
    mcp = FastMCP("my-email-agent")
    mcp.add_middleware(AllowlyMCPMiddleware(
        api_key=os.environ["ALLOWLY_KEY"],
        authorization_id_fn=lambda user_id: db.get_authorization_id(user_id),
        base_url=os.environ["TEST_ALLOWLY_BASE_URL"], allow_insecure_http=True,
    ))

    @mcp.tool()
    async def send_email(user_id: str, thread_id: str, body: str) -> str:
        # Only reached if Allowly returned allow
        with open(os.environ["TEST_RAN_FILE"], "a") as ran:
            ran.write("send_email\\n")
        return "sent"

    if __name__ == "__main__":
        mcp.run()
    """
)


@pytest.mark.parametrize("mode", [NEW, OLD])
async def test_walkthrough_step_4_on_stdio_gets_the_no_trusted_identity_help(server, user, tmp_path, mode) -> None:
    script = tmp_path / "email_agent.py"
    script.write_text(WALKTHROUGH_STEP_4)
    ran_file = tmp_path / "ran.txt"
    env = {
        **os.environ,
        "ALLOWLY_KEY": server["runtime_api_key"],
        "TEST_ALLOWLY_BASE_URL": server["base_url"],
        "TEST_AUTHORIZATION_ID": user["authorization_id"],
        "TEST_RAN_FILE": str(ran_file),
    }
    transport = PythonStdioTransport(script, env=env, python_cmd=sys.executable)
    async with fastmcp.Client(transport, mode=mode) as c:
        result = await c.call_tool(
            "send_email", {"user_id": user["user_id"], "thread_id": "t1", "body": "hi"}, raise_on_error=False
        )
    assert result.is_error
    assert text_of(result) == allowly.mcp.NO_TRUSTED_IDENTITY_HELP
    assert "identity callback" in text_of(result) and "authenticating transport" in text_of(result)
    assert not ran_file.exists()


def test_the_seeds_fastmcp_import_is_gone_in_mcp_2_and_points_to_its_successors() -> None:
    """Why the step-4 test imports `fastmcp`: the seed's `from mcp.server.fastmcp import FastMCP` is mcp 1.x."""
    with pytest.raises(ModuleNotFoundError, match="MCPServer"):
        import mcp.server.fastmcp  # noqa: F401
    assert fastmcp.FastMCP.__module__.startswith("fastmcp.")


def _signed_in_with(subject: Any) -> Any:
    """What the SDK's bearer-auth middleware does for a validated token (in-process transports carry none)."""
    token = AccessToken(token="opaque", client_id="the-mcp-client-app", scopes=[], subject=subject)
    return auth_context_var.set(AuthenticatedUser(token))


@pytest.mark.parametrize("mode", [NEW, OLD])
async def test_the_access_tokens_subject_is_the_identity(front, server, user, boss, mode) -> None:
    ran: List[str] = []
    srv = front.server(gate_options(server, user, boss, signed_in=None), ran)
    signed_in = _signed_in_with(user["user_id"])
    try:
        async with connected(front, srv, mode, answer="accept") as c:
            allowed = await front.call(c, "read_inbox", {})
            as_boss = await front.call(c, "delete_all", {"user_id": boss["user_id"]})
            confirmed = await front.call(c, "send_email", SEND)
    finally:
        auth_context_var.reset(signed_in)
    app_only = _signed_in_with(None)  # a token naming the client app but no user is no identity
    try:
        async with connected(front, srv, mode) as c:
            anonymous = await front.call(c, "read_inbox", {"user_id": user["user_id"]})
    finally:
        auth_context_var.reset(app_only)
    assert ran == ["read_inbox", "send_email"]
    assert text_of(allowed) == "3 unread"
    assert text_of(as_boss) == "denied by Allowly: scope_not_in_authorization (scope delete_all)"
    assert text_of(confirmed) == "sent to a@example.com" and confirmed.meta["allowly.ai/reason"] == "user_confirmed"
    assert text_of(anonymous) == allowly.mcp.NO_TRUSTED_IDENTITY_HELP


class ReadableCodec:
    """A request-state codec with no protection at all, so the test can rewrite the framework's envelope and reach
    the gate's own state checks (a real server keeps the framework's default codec as well)."""

    def seal(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(payload).decode()

    def unseal(self, token: str) -> bytes:
        try:
            return base64.urlsafe_b64decode(token.encode())
        except ValueError as error:
            raise InvalidRequestState("malformed") from error


def _rewrap(wire: str, arguments: Dict[str, Any], inner: str) -> str:
    claims = json.loads(base64.urlsafe_b64decode(wire))
    claims["s"] = inner
    claims["t"], claims["a"] = _request_identity("tools/call", {"name": "send_email", "arguments": arguments})
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()


async def test_the_gate_refuses_a_tampered_or_moved_state_behind_the_framework(front, server, user) -> None:
    ran: List[str] = []
    security = RequestStateSecurity(codec=ReadableCodec())
    srv = front.server(gate_options(server, user, signed_in=user["user_id"]), ran, request_state_security=security)
    async with connected(front, srv, NEW, answer="accept") as c:
        first = await c.session.call_tool(name="send_email", arguments=SEND, allow_input_required=True)
        wire = first.request_state
        inner = json.loads(base64.urlsafe_b64decode(wire))["s"]
        assert "nonce" not in inner and "cn_" not in inner  # the gate's own state is sealed, not just signed
        flipped = inner[:10] + ("A" if inner[10] != "A" else "B") + inner[11:]
        moved = {"to": "mallory@example.com", "body": "hi"}
        refusals = []
        for arguments, state in [(SEND, _rewrap(wire, SEND, flipped)), (moved, _rewrap(wire, moved, inner))]:
            with pytest.raises(MCPError) as refused:
                await c.session.call_tool(
                    name="send_email", arguments=arguments, input_responses=ACCEPT, request_state=state,
                    allow_input_required=True,
                )
            refusals.append(refused.value)
        done = await c.session.call_tool(
            name="send_email", arguments=SEND, input_responses=ACCEPT, request_state=wire, allow_input_required=True
        )
    assert [r.code for r in refusals] == [-32602, -32602]
    assert "altered" in refusals[0].error.message
    assert refusals[1].error.message == "requestState belongs to another tool call"
    assert not done.is_error and ran == ["send_email"]


async def test_steps_and_gates_print_no_secret(server, user) -> None:
    gate = allowly.mcp.AllowlyGate(**gate_options(server, user, signed_in=user["user_id"]))
    native = gate._native
    step = await native.step(
        "send_email", SEND, protocol_version="2025-11-25", client_capabilities={"elicitation": {}},
        principal=user["user_id"], authorization_id=user["authorization_id"],
    )
    assert step.kind == "elicit" and "`send_email`" in step.elicitation_params["message"]
    assert step.result is None and step.meta is None and step.error is None
    for text in (repr(step), repr(gate), repr(native), str(step.elicitation_params)):
        assert server["runtime_api_key"] not in text and "nonce" not in text.lower()
    assert not any("nonce" in name for name in dir(step))
    answered = await native.answer_elicitation(step, {"action": "accept", "content": {}})
    assert answered.kind == "run" and answered.meta["allowly.ai/reason"] == "user_confirmed"
    with pytest.raises(allowly.ValidationError):
        await native.answer_elicitation(step, {"action": "accept"})  # a confirmation is answered once
    with pytest.raises(allowly.ValidationError):
        await native.answer_elicitation(answered, {"action": "accept"})  # only an elicit step is answered
    await gate.close()


async def test_gates_sharing_a_request_state_key_open_each_others_states(server, user) -> None:
    """Two workers of one server (two gates, one configured key) finish each other's confirmations; a gate with
    another key refuses the state, and a key of the wrong length is refused at construction."""
    key = os.urandom(32)
    options = gate_options(server, user, signed_in=user["user_id"])
    workers = [allowly.mcp.AllowlyGate(**options, request_state_key=key) for _ in range(2)]
    stranger = allowly.mcp.AllowlyGate(**options)
    call = {"principal": user["user_id"], "authorization_id": user["authorization_id"], "protocol_version": NEW}
    meta = {"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
    first = await workers[0]._native.step("send_email", SEND, request_meta=meta, **call)
    assert first.kind == "input_required"
    state = first.result["requestState"]
    foreign = await stranger._native.step(
        "send_email", SEND, request_meta=meta, input_responses=ACCEPT, request_state=state, **call
    )
    done = await workers[1]._native.step(
        "send_email", SEND, request_meta=meta, input_responses=ACCEPT, request_state=state, **call
    )
    assert foreign.kind == "protocol_error" and foreign.error["code"] == -32602
    assert done.kind == "run" and done.meta["allowly.ai/reason"] == "user_confirmed"
    assert key.hex() not in repr(workers[0]._native)
    with pytest.raises(allowly.ValidationError):
        allowly.mcp.AllowlyGate(**options, request_state_key=b"too short")
    for gate in (*workers, stranger):
        await gate.close()


@pytest.mark.parametrize("mode", [NEW, OLD])
async def test_over_real_http_the_bearer_tokens_subject_is_the_identity(server, user, boss, mode) -> None:
    """FastMCP over streamable HTTP with its bearer-token auth: the validated token's `sub` is whose authorization the
    call runs under, a `user_id` argument changes nothing, and a confirmation round trip keeps that identity."""
    import asyncio
    import socket

    import uvicorn
    from fastmcp.server.auth.providers.jwt import StaticTokenVerifier
    from mcp_fronts import FastMCPFront
    from mcp import types as mt

    tokens = {
        "token-of-user": {"client_id": "mail-app", "sub": user["user_id"], "scopes": []},
        "token-of-app-only": {"client_id": "mail-app", "scopes": []},
    }
    ran: List[str] = []
    srv = FastMCPFront().server(
        gate_options(server, user, boss, signed_in=None), ran, auth=StaticTokenVerifier(tokens=tokens)
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    http = uvicorn.Server(uvicorn.Config(srv.http_app(), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(http.serve())
    asked: List[str] = []

    async def accept(message: str, response_type: Any, params: Any, context: Any) -> Any:
        asked.append(message)
        return mt.ElicitResult(action="accept", content={})

    try:
        while not http.started:
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{port}/mcp"
        async with fastmcp.Client(url, auth="token-of-user", elicitation_handler=accept, mode=mode) as c:
            allowed = await c.call_tool("read_inbox", {"user_id": boss["user_id"]}, raise_on_error=False)
            as_boss = await c.call_tool("delete_all", {"user_id": boss["user_id"]}, raise_on_error=False)
            confirmed = await c.call_tool("send_email", SEND, raise_on_error=False)
        async with fastmcp.Client(url, auth="token-of-app-only", mode=mode) as c:
            anonymous = await c.call_tool("read_inbox", {"user_id": user["user_id"]}, raise_on_error=False)
    finally:
        http.should_exit = True
        await serving
    assert ran == ["read_inbox", "send_email"] and len(asked) == 1
    assert text_of(allowed) == "3 unread"
    assert text_of(as_boss) == "denied by Allowly: scope_not_in_authorization (scope delete_all)"
    assert text_of(confirmed) == "sent to a@example.com" and confirmed.meta["allowly.ai/reason"] == "user_confirmed"
    assert text_of(anonymous) == allowly.mcp.NO_TRUSTED_IDENTITY_HELP
