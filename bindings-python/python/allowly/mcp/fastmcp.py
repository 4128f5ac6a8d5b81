"""``AllowlyMCPMiddleware`` for FastMCP 4.x: ``mcp.add_middleware(AllowlyMCPMiddleware(...))``.

Its ``on_call_tool`` hook hands each tool call to the Allowly gate's step and moves the answer into FastMCP's types:
run → ``call_next`` runs the tool; refuse → the gate's error result (the tool body never runs); on MCP 2026-07-28 a
confirmation → FastMCP's ``InputRequiredToolResult`` (the client asks the user and retries with the sealed
``requestState``), on 2025-11-25 → ``elicitation/create`` pushed through the session; a protocol error → the
JSON-RPC error the gate named. A tool's own ``InputRequiredToolResult`` (2026-07-28) keeps working behind the gate:
its ``requestState`` is sealed inside the gate's, and the retry resumes the tool with its own state and answers,
once, without asking the user again. Requires ``pip install 'openallowly[fastmcp]'``.
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from typing import Any, ContextManager, Mapping, Optional

import mcp.types as mt
from fastmcp.server.dependencies import bind_request_context, get_access_token
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import InputRequiredToolResult, ToolResult
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ._core import AllowlyGate, tool_params

__all__ = ["AllowlyMCPMiddleware"]


class AllowlyMCPMiddleware(Middleware):
    """Gates every FastMCP tool call with Allowly.

    The caller's identity comes from a trusted source only: ``user_id_fn(ctx)`` (sync or async; it receives the
    FastMCP ``Context`` of the call — session, request, auth token — and returns the user id), or, without it, the
    subject of the access token FastMCP's auth validated. ``authorization_id_fn(user_id)`` (sync or async) returns
    that user's authorization id. A call with no trusted identity gets an error result saying how to provide one.
    ``user_id_from_arguments=True`` (or an argument name) reads the ``user_id`` tool argument instead: only for a
    single-user server, since on a shared server the model (or a prompt injection) writes the arguments.
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
        request = None if fctx is None else fctx.request_context
        session = None if request is None else request.session
        params = context.message
        step = await self.gate.step(
            params.name,
            params.arguments,
            server_context=fctx,
            access_token=get_access_token(),
            protocol_version="" if request is None else request.protocol_version,
            request_meta=None if request is None else request.meta,
            client_capabilities=None if session is None else session.client_capabilities,
            run_id=_session_id(fctx, request),
            input_responses=None if fctx is None else fctx.input_responses,
            request_state=None if fctx is None else fctx.request_state,
        )
        if step.kind == "elicit":
            step = await self.gate.elicit(step, session, None if request is None else request.request_id)
        if step.kind in ("run", "resume"):
            # The tool sees only its own round: its own state and answers on a resume, none after the gate's round.
            with _tool_round(request, step):
                result = await call_next(context)
            if isinstance(result, InputRequiredToolResult):
                wrapped = self.gate.wrap_input_required(step, result.input_required)
                if wrapped is None:
                    return result
                step = wrapped
            else:
                result.meta = {**(result.meta or {}), **step.meta}
                return result
        if step.kind == "input_required":
            return InputRequiredToolResult(mt.InputRequiredResult.model_validate(step.result))
        if step.kind == "protocol_error":
            error = step.error
            raise MCPError(error["code"], error["message"], error.get("data"))
        refused = mt.CallToolResult.model_validate(step.result)
        return ToolResult(content=refused.content, meta=refused.meta, is_error=refused.is_error)

    def __repr__(self) -> str:
        return f"AllowlyMCPMiddleware({self.gate!r})"


def _tool_round(request: Any, step: Any) -> ContextManager[Any]:
    """Binds the request the tool body reads ``ctx.request_state`` / ``ctx.input_responses`` from: on a resume the
    tool's own (unwrapped) ones, after a decided retry none — the client's state and answers were the gate's."""
    srctx = None if request is None else request._srctx
    params = None if srctx is None else srctx.params
    if not isinstance(params, Mapping):
        return nullcontext()
    own = tool_params(params, step)
    return nullcontext() if own is None else bind_request_context(dataclasses.replace(srctx, params=own))

def _session_id(fctx: Any, request: Any) -> Optional[str]:
    """The MCP session, to group a run's receipts. On FastMCP's modern connections every request is its own
    connection with a fresh id, which would make a confirmation's retry look like another run: none is sent there."""
    if fctx is None or request is None or request.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return None
    try:
        return fctx.session_id
    except Exception:  # no session (e.g. outside a request): the check simply carries no session id
        return None
