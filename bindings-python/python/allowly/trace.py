"""``trace(...)``: values that join the context of every check made inside the block.

The ambient part is a ``contextvars.ContextVar``, so each asyncio task and thread sees its own trace and a task started
inside the block inherits it. How the values join a check's context (the check's own context wins) is decided in
allowly-core, so every language merges the same way.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Dict, Iterator, Mapping, Optional

__all__ = ["trace", "current_trace"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_TRACE: ContextVar[Mapping[str, Any]] = ContextVar("allowly_trace", default=_EMPTY)


@contextmanager
def trace(
    *, run_id: Optional[str] = None, agent_id: Optional[str] = None, **values: Any
) -> Iterator[Mapping[str, Any]]:
    """Adds ``run_id``, ``agent_id`` and any other values to every check inside the block; nested blocks add to
    (and override) the outer one. ``None`` values are left out."""
    given: Dict[str, Any] = {"run_id": run_id, "agent_id": agent_id, **values}
    merged = MappingProxyType({**_TRACE.get(), **{k: v for k, v in given.items() if v is not None}})
    token = _TRACE.set(merged)
    try:
        yield merged
    finally:
        _TRACE.reset(token)


def current_trace() -> Dict[str, Any]:
    """The trace values in force here (a copy)."""
    return dict(_TRACE.get())
