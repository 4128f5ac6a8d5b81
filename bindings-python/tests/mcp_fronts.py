"""What the MCP middleware tests share: the real Allowly server's users, the gate options, and each framework (FastMCP
4.x and the official SDK's MCPServer) behind one small `Front` so every done-when case runs against both.

Every tool appends its name to `ran` when its body executes: a refused call is proven never to have run, and an
accepted confirmation to have run exactly once, by that side effect rather than by a mock."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional

import pytest

import allowly
import allowly.mcp
from conftest import client_kwargs

fastmcp = pytest.importorskip("fastmcp")
mcp_sdk = pytest.importorskip("mcp.server.mcpserver")

from mcp import Client as SdkClient  # noqa: E402
from mcp import types as mt  # noqa: E402

NEW = "2026-07-28"
OLD = "legacy"  # the 2025-11-25 initialize handshake


@pytest.fixture
async def user(client: allowly.Allowly) -> Dict[str, str]:
    """A user whose authorization grants read_inbox outright, send_email with confirmation, and not delete_all."""
    return await _user(client, ["read_inbox", "send_email"], ["send_email"])


@pytest.fixture
async def boss(client: allowly.Allowly) -> Dict[str, str]:
    """Another user, whose authorization does grant delete_all."""
    return await _user(client, ["read_inbox", "delete_all"], [])


async def _user(client: allowly.Allowly, scopes: List[str], confirm: List[str]) -> Dict[str, str]:
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    auth = await client.authorizations.create(
        user_id=user_id, agent_id="mcp-test-agent", scopes=scopes, requires_confirm_for=confirm
    )
    return {"user_id": user_id, "authorization_id": auth.authorization_id}


def gate_options(
    server: Dict[str, str], *users: Dict[str, str], signed_in: Optional[str], **extra: Any
) -> Dict[str, Any]:
    """The server's trusted context says `signed_in` (its own session); the authorization lookup is its database.
    `signed_in=None` with no `user_id_fn` leaves only the transport's token as a source."""
    kwargs = client_kwargs(server)
    table = {u["user_id"]: u["authorization_id"] for u in users}

    async def authorization_id_fn(user_id: str) -> Optional[str]:
        return table.get(user_id)

    options: Dict[str, Any] = {
        "api_key": kwargs["api_key"],
        "base_url": kwargs["base_url"],
        "allow_insecure_http": True,
        "authorization_id_fn": authorization_id_fn,
    }
    if signed_in is not None:

        async def user_id_fn(ctx: Any) -> str:
            return signed_in

        options["user_id_fn"] = user_id_fn
    options.update(extra)
    return options


class Front:
    """One MCP framework with the Allowly middleware, driven by that framework's own client in-process."""

    name = ""

    def server(self, options: Dict[str, Any], ran: List[str], **server_kwargs: Any) -> Any:
        raise NotImplementedError

    def connect(self, srv: Any, mode: str, answer: Optional[str] = None, asked: Optional[List[str]] = None) -> Any:
        raise NotImplementedError

    async def call(self, c: Any, name: str, arguments: Dict[str, Any]) -> Any:
        raise NotImplementedError



def _with_tools(srv: Any, ran: List[str]) -> Any:
    """The three tools every front serves (both frameworks register them with ``@srv.tool()``); each run is recorded."""

    @srv.tool()
    def read_inbox(user_id: str = "") -> str:
        ran.append("read_inbox")
        return "3 unread"

    @srv.tool()
    def send_email(to: str, body: str, user_id: str = "") -> str:
        ran.append("send_email")
        return f"sent to {to}"

    @srv.tool()
    def delete_all(user_id: str = "") -> str:
        ran.append("delete_all")
        return "deleted"

    return srv


class FastMCPFront(Front):
    name = "fastmcp"

    def server(self, options: Dict[str, Any], ran: List[str], **server_kwargs: Any) -> Any:
        srv = fastmcp.FastMCP("allowly-test", **server_kwargs)
        srv.add_middleware(allowly.AllowlyMCPMiddleware(**options))

        return _with_tools(srv, ran)

    def connect(self, srv: Any, mode: str, answer: Optional[str] = None, asked: Optional[List[str]] = None) -> Any:
        handler = None
        if answer is not None:

            async def handler(message: str, response_type: Any, params: Any, context: Any) -> Any:
                if asked is not None:
                    asked.append(message)
                return mt.ElicitResult(action=answer, content={} if answer == "accept" else None)

        return fastmcp.Client(srv, elicitation_handler=handler, mode=mode)

    async def call(self, c: Any, name: str, arguments: Dict[str, Any]) -> Any:
        return await c.call_tool(name, arguments, raise_on_error=False)


class MCPServerFront(Front):
    name = "mcpserver"

    def server(self, options: Dict[str, Any], ran: List[str], **server_kwargs: Any) -> Any:
        middleware = allowly.mcp.AllowlyMCPServerMiddleware(**options)
        srv = mcp_sdk.MCPServer("allowly-test", middleware=[middleware], **server_kwargs)

        return _with_tools(srv, ran)

    def connect(self, srv: Any, mode: str, answer: Optional[str] = None, asked: Optional[List[str]] = None) -> Any:
        callback = None
        if answer is not None:

            async def callback(context: Any, params: Any) -> Any:
                if asked is not None:
                    asked.append(params.message)
                return mt.ElicitResult(action=answer, content={} if answer == "accept" else None)

        return SdkClient(srv, elicitation_callback=callback, mode=mode)

    async def call(self, c: Any, name: str, arguments: Dict[str, Any]) -> Any:
        return await c.call_tool(name, arguments)


FRONTS = [FastMCPFront(), MCPServerFront()]


@asynccontextmanager
async def connected(
    front: Front, srv: Any, mode: str, answer: Optional[str] = None, asked: Optional[List[str]] = None
) -> AsyncIterator[Any]:
    async with front.connect(srv, mode, answer, asked) as c:
        yield c


def text_of(result: Any) -> str:
    return result.content[0].text
