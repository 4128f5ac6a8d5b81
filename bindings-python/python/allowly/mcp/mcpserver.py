"""``AllowlyMCPServerMiddleware`` for the official MCP Python SDK 2.x: ``MCPServer(..., middleware=[...])``.

The SDK's ``ServerMiddleware`` (provisional in 2.x) wraps every inbound message as ``(ctx, call_next)``; this one
hands each ``tools/call`` to the Allowly gate's step and passes everything else through. It runs inside the SDK's
request-state boundary, so it sees (and returns) the gate's own ``requestState`` and the SDK seals it on the wire.
A tool's own ``InputRequiredResult`` (2026-07-28) keeps working: its ``requestState`` is sealed inside the gate's,
and the retry resumes the tool with its own state and answers, once, without asking the user again.
Run → ``call_next`` runs the tool; refuse → the gate's error result (the tool never runs); on MCP 2026-07-28 a
confirmation → an ``InputRequiredResult``, on 2025-11-25 → ``elicitation/create`` pushed through the session; a
protocol error → the JSON-RPC error the gate named. Requires ``pip install 'openallowly[mcp]'``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Awaitable, Callable, Dict, Mapping

from mcp import types as mt
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.shared.exceptions import MCPError

from ._core import AllowlyGate, dump, tool_params

__all__ = ["AllowlyMCPServerMiddleware"]


class AllowlyMCPServerMiddleware:
    """Gates every tool call of an official-SDK ``MCPServer`` (or low-level ``Server``) with Allowly.

    ``user_id_fn(ctx)`` receives the SDK's ``ServerRequestContext`` (session, lifespan context, transport request) and
    returns the caller's user id; without it the identity is the subject of the access token the SDK's auth
    validated. The other options are ``AllowlyMCPMiddleware``'s (see ``AllowlyGate``).
    """

    def __init__(self, **options: Any) -> None:
        self.gate = AllowlyGate(**options)

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method != "tools/call" or ctx.request_id is None:
            return await call_next(ctx)
        params = ctx.params or {}
        name = params.get("name")
        if not isinstance(name, str):
            return await call_next(ctx)  # malformed: the SDK's validation answers it, and no tool runs
        arguments = params.get("arguments")
        session = ctx.session
        step = await self.gate.step(
            name,
            arguments if isinstance(arguments, dict) else None,
            server_context=ctx,
            access_token=get_access_token(),
            protocol_version=ctx.protocol_version,
            request_meta=params.get("_meta") if isinstance(params.get("_meta"), dict) else None,
            client_capabilities=None if session is None else session.client_capabilities,
            input_responses=params.get("inputResponses"),
            request_state=params.get("requestState"),
        )
        if step.kind == "elicit":
            step = await self.gate.elicit(step, session, ctx.request_id)
        if step.kind in ("run", "resume"):
            result = await call_next(_tool_round(ctx, params, step))
            if not _is_input_required(result):
                return _with_meta(result, step.meta)
            wrapped = self.gate.wrap_input_required(step, dump(result))
            if wrapped is None:
                return result
            step = wrapped
        if step.kind == "input_required":
            return mt.InputRequiredResult.model_validate(step.result)
        if step.kind == "protocol_error":
            error = step.error
            raise MCPError(error["code"], error["message"], error.get("data"))
        return mt.CallToolResult.model_validate(step.result)

    def __repr__(self) -> str:
        return f"AllowlyMCPServerMiddleware({self.gate!r})"


def _tool_round(ctx: Any, params: Mapping[str, Any], step: Any) -> Any:
    """The request the tool handler parses: on a resume with the tool's own (unwrapped) state and answers, after a
    decided retry with none — the client's state and answers were the gate's."""
    own = tool_params(params, step)
    return ctx if own is None else dataclasses.replace(ctx, params=own)


def _is_input_required(result: Any) -> bool:
    if isinstance(result, Mapping):
        return result.get("resultType") == "input_required"
    return getattr(result, "result_type", None) == "input_required"


def _with_meta(result: Any, meta: Dict[str, Any]) -> Any:
    if isinstance(result, dict):
        return {**result, "_meta": {**(result.get("_meta") or {}), **meta}}
    if hasattr(result, "model_copy") and hasattr(result, "meta"):
        return result.model_copy(update={"meta": {**(result.meta or {}), **meta}})
    return result
