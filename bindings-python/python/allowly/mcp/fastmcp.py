"""``AllowlyMCPMiddleware`` for FastMCP 4.x: ``mcp.add_middleware(AllowlyMCPMiddleware(...))``.

Its ``on_call_tool`` hook puts the Allowly gate in front of every tool: allow → the tool runs; deny → an error result
naming the reason, the tool body never runs; confirm → the user is asked through MCP elicitation when the client
supports it (then the gate re-checks), otherwise an error result carrying the prompt hint and confirmation id.
Requires ``pip install 'allowly[fastmcp]'``.
"""

from __future__ import annotations

from typing import Any

import mcp.types as mt
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult

from ._core import AllowlyGate

__all__ = ["AllowlyMCPMiddleware"]


class AllowlyMCPMiddleware(Middleware):
    """Gates every FastMCP tool call with Allowly.

    ``user_id_fn(ctx)`` receives the FastMCP ``Context`` of the call (its session, request, auth token) and returns the
    caller's user id — trusted server context, never the model's arguments. ``authorization_id_fn(user_id)`` returns
    that user's authorization id. Either may be async; returning ``None`` (or raising) denies the call.
    ``user_id_from_arguments=True`` reads the ``user_id`` tool argument instead: only for a single-user server, since
    on a shared server the model (or a prompt injection) picks the argument and so whose authorization is used.
    Other keyword arguments: see ``AllowlyGate``.
    """

    def __init__(self, **options: Any) -> None:
        self.gate = AllowlyGate(**options)

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        fctx = context.fastmcp_context
        params = context.message
        run_id = _session_id(fctx)
        outcome = await self.gate.on_tool_call(params.name, params.arguments, fctx, run_id)
        unanswered = None
        if outcome.decision == "confirm":
            session = None if fctx is None else fctx.session
            request_id = None if fctx is None else fctx.request_id
            outcome, unanswered = await self.gate.confirm(outcome, session, request_id)
        if not outcome.is_allowed:
            return ToolResult(
                content=[mt.TextContent(type="text", text=outcome.refusal(unanswered))],
                meta=outcome.meta(),
                is_error=True,
            )
        result = await call_next(context)
        result.meta = {**(result.meta or {}), **outcome.meta()}
        return result

    def __repr__(self) -> str:
        return f"AllowlyMCPMiddleware({self.gate!r})"


def _session_id(fctx: Any) -> Any:
    try:
        return None if fctx is None else fctx.session_id
    except Exception:  # no session (e.g. outside a request): the check simply carries no session id
        return None
