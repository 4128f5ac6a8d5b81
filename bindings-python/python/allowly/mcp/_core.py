"""What both MCP adapters share: resolving the caller, one call into the Rust gate, and asking the user.

Nothing here decides. The tool → scope mapping, the deny without identity or authorization, fail-closed on an
outage, the re-check after a confirmation and the result texts are all ``NativeGate``'s (``allowly_mcp::Gate``); this
module only gathers the inputs the gate needs from the server's own callbacks and forwards the user's answer.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Sequence, Union

from .. import _native
from .._client import Allowly

logger = logging.getLogger("allowly.mcp")

MaybeAwaitable = Union[Any, Awaitable[Any]]
UserIdFn = Callable[[Any], MaybeAwaitable]
AuthorizationIdFn = Callable[[str], MaybeAwaitable]
ScopeFn = Callable[[str], MaybeAwaitable]

# The MCP protocol versions without a back-channel for server-initiated requests (2026-07-28: SEP-2322, SEP-2575).
_MODERN_PROTOCOL_VERSIONS = ("2026-07-28",)
_EMPTY_FORM: Dict[str, Any] = {"type": "object", "properties": {}}


async def _value(result: MaybeAwaitable) -> Any:
    return await result if inspect.isawaitable(result) else result


class AllowlyGate:
    """One gate per MCP server: the server's callbacks (identity, authorization, scope) around a ``NativeGate``."""

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        authorization_id_fn: AuthorizationIdFn,
        user_id_fn: Optional[UserIdFn] = None,
        user_id_from_arguments: Union[bool, str] = False,
        scope_fn: Optional[ScopeFn] = None,
        base_url: Optional[str] = None,
        client: Optional[Allowly] = None,
        scopes: Optional[Mapping[str, str]] = None,
        scope_template: Optional[str] = None,
        server_name: Optional[str] = None,
        fail_open_scopes: Optional[Sequence[str]] = None,
        context_fields: Optional[Mapping[str, str]] = None,
        resource_field: Optional[str] = None,
        wait_for_signed_receipts: bool = False,
        allow_insecure_http: bool = False,
    ) -> None:
        if user_id_fn is not None and user_id_from_arguments:
            raise ValueError("pass either user_id_fn or user_id_from_arguments, not both")
        if (client is None) == (api_key is None):
            raise ValueError("pass exactly one of api_key or client")
        if client is None:
            client = Allowly(api_key, base_url=base_url, allow_insecure_http=allow_insecure_http)  # type: ignore[arg-type]
        elif base_url is not None:
            raise ValueError("base_url is the client's: pass it to Allowly(...)")
        self.client = client
        self._native = _native.NativeGate(
            client._native,
            scopes=None if scopes is None else dict(scopes),
            scope_template=scope_template,
            server_name=server_name,
            fail_open_scopes=None if fail_open_scopes is None else list(fail_open_scopes),
            context_fields=None if context_fields is None else dict(context_fields),
            resource_field=resource_field,
            wait_for_signed_receipts=wait_for_signed_receipts,
        )
        self._authorization_id_fn = authorization_id_fn
        self._user_id_fn = user_id_fn
        self._user_id_argument = "user_id" if user_id_from_arguments is True else (user_id_from_arguments or None)
        self._scope_fn = scope_fn

    async def _identity(self, server_context: Any, arguments: Optional[Mapping[str, Any]]) -> Optional[str]:
        if self._user_id_argument is not None:
            # Opt-in only (single-user servers): a tool argument is chosen by the model, not by the server.
            value = (arguments or {}).get(self._user_id_argument)
            return value if isinstance(value, str) else None
        if self._user_id_fn is None:
            return None
        try:
            value = await _value(self._user_id_fn(server_context))
        except Exception as error:  # an identity that cannot be resolved is no identity: the gate denies
            logger.warning("allowly.mcp: user_id_fn raised %s; the call has no identity", type(error).__name__)
            return None
        return None if value is None else str(value)

    async def _authorization_id(self, identity: Optional[str]) -> Optional[str]:
        if identity is None:
            return None
        try:
            value = await _value(self._authorization_id_fn(identity))
        except Exception as error:
            logger.warning("allowly.mcp: authorization_id_fn raised %s; no authorization", type(error).__name__)
            return None
        return None if value is None else str(value)

    async def _scope(self, tool_name: str) -> Optional[str]:
        if self._scope_fn is None:
            return None
        value = await _value(self._scope_fn(tool_name))
        return None if value is None else str(value)

    async def on_tool_call(
        self, tool_name: str, arguments: Optional[Mapping[str, Any]], server_context: Any, run_id: Optional[str] = None
    ) -> "_native.GateOutcome":
        identity = await self._identity(server_context, arguments)
        return await self._native.on_tool_call(
            tool_name,
            None if arguments is None else dict(arguments),
            identity=identity,
            authorization_id=await self._authorization_id(identity),
            scope=await self._scope(tool_name),
            run_id=run_id,
        )

    async def confirm(
        self, outcome: "_native.GateOutcome", session: Any, request_id: Any
    ) -> "tuple[_native.GateOutcome, Optional[str]]":
        """Asks the user through ``elicitation/create`` and re-checks. Returns the new outcome, or the unchanged
        confirm with why it could not be answered (``"unsupported"``, ``"dismissed"``, ``"failed"``)."""
        if not _can_elicit(session):
            return outcome, "unsupported"
        try:
            answer = await session.elicit_form(outcome.elicitation_message, _EMPTY_FORM, related_request_id=request_id)
        except Exception as error:
            logger.warning("allowly.mcp: asking the user failed (%s)", type(error).__name__)
            return outcome, "failed"
        if answer.action not in ("accept", "decline"):
            return outcome, "dismissed"
        return await self._native.resolve_confirmation(outcome, answer.action == "accept"), None

    async def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"AllowlyGate(base_url={self.client.base_url!r})"


def _can_elicit(session: Any) -> bool:
    """Push elicitation needs a client that declared it and a connection with a back-channel (handshake era)."""
    if session is None or getattr(session, "protocol_version", None) in _MODERN_PROTOCOL_VERSIONS:
        return False
    if not getattr(session, "can_send_request", True):
        return False
    capabilities = getattr(session, "client_capabilities", None)
    return capabilities is not None and getattr(capabilities, "elicitation", None) is not None
