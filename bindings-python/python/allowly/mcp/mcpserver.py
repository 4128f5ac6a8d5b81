"""``AllowlyMCPServerMiddleware`` for the official MCP Python SDK 2.x: ``MCPServer(..., middleware=[...])``.

The SDK's ``ServerMiddleware`` (provisional in 2.x) wraps every inbound message as ``(ctx, call_next)``; this one acts
on ``tools/call`` only and passes everything else through. Allow → ``call_next`` runs the tool; deny → an error
result naming the reason, the tool never runs; confirm → elicitation when the client supports it (then the gate
re-checks), otherwise an error result carrying the prompt hint and confirmation id.
Requires ``pip install 'allowly[mcp]'``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict

from mcp import types as mt

from ._core import AllowlyGate

__all__ = ["AllowlyMCPServerMiddleware"]


class AllowlyMCPServerMiddleware:
    """Gates every tool call of an official-SDK ``MCPServer`` (or low-level ``Server``) with Allowly.

    ``user_id_fn(ctx)`` receives the SDK's ``ServerRequestContext`` (session, lifespan context, transport request) and
    returns the caller's user id; the other options are ``AllowlyMCPMiddleware``'s (see ``AllowlyGate``).
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
        arguments = arguments if isinstance(arguments, dict) else None
        outcome = await self.gate.on_tool_call(name, arguments, ctx)
        unanswered = None
        if outcome.decision == "confirm":
            outcome, unanswered = await self.gate.confirm(outcome, ctx.session, ctx.request_id)
        if not outcome.is_allowed:
            return mt.CallToolResult(
                content=[mt.TextContent(type="text", text=outcome.refusal(unanswered))],
                is_error=True,
                _meta=outcome.meta(),
            )
        return _with_meta(await call_next(ctx), outcome.meta())

    def __repr__(self) -> str:
        return f"AllowlyMCPServerMiddleware({self.gate!r})"


def _with_meta(result: Any, meta: Dict[str, Any]) -> Any:
    if isinstance(result, dict):
        return {**result, "_meta": {**(result.get("_meta") or {}), **meta}}
    if hasattr(result, "model_copy") and hasattr(result, "meta"):
        return result.model_copy(update={"meta": {**(result.meta or {}), **meta}})
    return result
