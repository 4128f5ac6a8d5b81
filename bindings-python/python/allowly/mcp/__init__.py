"""MCP middleware: the Allowly gate (``allowly_mcp::Gate``, through the native module) in front of every tool call.

- ``AllowlyMCPMiddleware`` — FastMCP 4.x (``mcp.add_middleware(...)``); ``pip install 'openallowly[fastmcp]'``.
- ``AllowlyMCPServerMiddleware`` — the official MCP SDK 2.x (``MCPServer(..., middleware=[...])``);
  ``pip install 'openallowly[mcp]'``.

Each adapter is imported on first use, so installing one framework is enough.
"""

from __future__ import annotations

from typing import Any

from .. import _native
from ._core import AllowlyGate

#: The error text of a tool call with no trusted caller identity (what the server must do about it).
NO_TRUSTED_IDENTITY_HELP: str = _native.NO_TRUSTED_IDENTITY_HELP

__all__ = ["NO_TRUSTED_IDENTITY_HELP", "AllowlyGate", "AllowlyMCPMiddleware", "AllowlyMCPServerMiddleware"]


def __getattr__(name: str) -> Any:
    if name == "AllowlyMCPMiddleware":
        from .fastmcp import AllowlyMCPMiddleware

        return AllowlyMCPMiddleware
    if name == "AllowlyMCPServerMiddleware":
        from .mcpserver import AllowlyMCPServerMiddleware

        return AllowlyMCPServerMiddleware
    raise AttributeError(f"module 'allowly.mcp' has no attribute {name!r}")
