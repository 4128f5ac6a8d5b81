"""What both MCP adapters share: the server's callbacks around one ``NativeGate.step`` per tool call.

Nothing here decides and nothing here writes a text. The protocol era, what the client declared, whose identity a
call runs under, the tool → scope mapping, deny / confirm / fail closed, the elicitation question, the sealed
``requestState`` and every result shape are ``allowly_mcp::Gate::step``'s (through the native module). This module
awaits the server's own callbacks (identity, authorization, scope) — they may be async, which the Rust gate cannot
await — and moves the answers in and the step's JSON out.
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


async def _value(result: MaybeAwaitable) -> Any:
    return await result if inspect.isawaitable(result) else result


def token_principal(token: Any) -> Optional[str]:
    """The user an MCP access token stands for: its subject (``sub``). The token's ``client_id`` names the OAuth
    client (the app), not the user, so a token without a subject gives no identity."""
    if token is None:
        return None
    subject = getattr(token, "subject", None)
    if subject is None:
        subject = (getattr(token, "claims", None) or {}).get("sub")
    return subject if isinstance(subject, str) and subject else None


def dump(model: Any) -> Any:
    """A framework model (pydantic), or a dict of them (``inputResponses``), as its wire JSON."""
    if isinstance(model, Mapping):
        return {key: dump(value) for key, value in model.items()}
    if model is None or isinstance(model, (list, str, int, float, bool)):
        return model
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


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
        request_state_key: Optional[bytes] = None,
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
            identity_from_argument="user_id" if user_id_from_arguments is True else (user_id_from_arguments or None),
            request_state_key=None if request_state_key is None else bytes(request_state_key),
        )
        self._authorization_id_fn = authorization_id_fn
        self._user_id_fn = user_id_fn
        self._scope_fn = scope_fn

    async def _principal(self, server_context: Any, access_token: Any) -> Optional[str]:
        """The trusted principal: the server's ``user_id_fn`` answer when it has one, else the transport's token."""
        if self._user_id_fn is None:
            return token_principal(access_token)
        try:
            value = await _value(self._user_id_fn(server_context))
        except Exception as error:  # an identity that cannot be resolved is no identity: the gate refuses
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

    async def step(
        self,
        tool_name: str,
        arguments: Optional[Mapping[str, Any]],
        *,
        server_context: Any,
        access_token: Any,
        protocol_version: str,
        request_meta: Optional[Mapping[str, Any]],
        client_capabilities: Any,
        run_id: Optional[str] = None,
        input_responses: Any = None,
        request_state: Optional[str] = None,
    ) -> "_native.GateStep":
        """One ``Gate::step`` for this ``tools/call``, with the server's callbacks awaited first."""
        arguments = None if arguments is None else dict(arguments)
        principal = await self._principal(server_context, access_token)
        identity = self._native.identity(principal, arguments)
        return await self._native.step(
            tool_name,
            arguments,
            protocol_version=protocol_version,
            request_meta=None if request_meta is None else dict(request_meta),
            client_capabilities=dump(client_capabilities),
            principal=principal,
            authorization_id=await self._authorization_id(identity),
            scope=await self._scope(tool_name),
            run_id=run_id,
            input_responses=dump(input_responses),
            request_state=request_state,
        )

    async def elicit(self, step: "_native.GateStep", session: Any, request_id: Any) -> "_native.GateStep":
        """2025-11-25: pushes the step's ``elicitation/create`` and hands the client's answer back to the gate."""
        params = step.elicitation_params
        try:
            message, schema = params["message"], params["requestedSchema"]
            answer = await session.elicit_form(message, schema, related_request_id=request_id)
        except Exception as error:
            logger.warning("allowly.mcp: asking the user failed (%s)", type(error).__name__)
            answer = None
        return await self._native.answer_elicitation(step, dump(answer))

    def wrap_input_required(self, step: "_native.GateStep", result: Any) -> "Optional[_native.GateStep]":
        """After a run or resume step, the tool's own ``InputRequiredResult``: the step to answer instead (its
        ``requestState`` sealed inside the gate's, or the error when it cannot be carried); ``None``: answer it as
        it is."""
        return self._native.wrap_input_required(step, dump(result))

    async def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"AllowlyGate(base_url={self.client.base_url!r})"


def tool_params(params: Mapping[str, Any], step: Any) -> Optional[Dict[str, Any]]:
    """The ``tools/call`` params the tool body should read, or ``None`` when they are the client's as sent.

    On a resume the tool gets back its own (unwrapped) ``requestState`` and ``inputResponses``; after a retry the gate
    decided, none: the client's state and answers were the gate's, and a tool must never read the confirmation."""
    if step.kind != "resume" and "requestState" not in params and "inputResponses" not in params:
        return None
    own = {k: v for k, v in params.items() if k not in ("requestState", "inputResponses")}
    if step.kind == "resume":
        if step.request_state is not None:
            own["requestState"] = step.request_state
        if step.input_responses:
            own["inputResponses"] = step.input_responses
    return own
