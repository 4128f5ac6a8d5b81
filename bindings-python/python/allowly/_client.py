"""``Allowly`` (asyncio) and ``SyncAllowly`` (blocking): the seed's API over one native client.

Both share every method: the native client was built either awaitable or blocking, and each method here only names
the arguments and forwards them (plus the ambient ``trace`` for checks). Type stubs: ``_client.pyi``.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Mapping, Optional, Sequence, Union

from . import _native
from .errors import ConfigError
from .trace import current_trace

__all__ = ["Admin", "Allowly", "SyncAllowly"]


class AuthorizationsAPI:
    """What a user granted an agent."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def create(
        self,
        *,
        user_id: str,
        agent_id: Optional[str] = None,
        scopes: Optional[Sequence[Any]] = None,
        policy_id: Optional[str] = None,
        policy_version: Optional[int] = None,
        actions: Optional[Sequence[str]] = None,
        expires_at: Union[datetime, str, None] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        budget_limit_micros: Optional[int] = None,
        requires_confirm_for: Optional[Sequence[str]] = None,
        requires_deny_for: Optional[Sequence[str]] = None,
        replaces: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        confirmation_timeout_seconds: Optional[int] = None,
        requires_escalation_for: Optional[Sequence[str]] = None,
        escalation_targets: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
    ) -> Any:
        # Two call shapes share this method: 0.8.0's edition grant (policy_id + policy_version [+ actions]) and the
        # scope grant (agent_id + scopes). Which one the arguments mean is decided in core (AuthorizationArgs).
        if isinstance(expires_at, datetime):
            expires_at = expires_at.isoformat()
        return self._native.create_authorization(
            user_id=user_id,
            agent_id=agent_id,
            scopes=None if scopes is None else list(scopes),
            policy_id=policy_id,
            policy_version=policy_version,
            actions=None if actions is None else list(actions),
            expires_at=expires_at,
            metadata=metadata,
            budget_limit_micros=budget_limit_micros,
            requires_confirm_for=None if requires_confirm_for is None else list(requires_confirm_for),
            requires_deny_for=None if requires_deny_for is None else list(requires_deny_for),
            replaces=replaces,
            idempotency_key=idempotency_key,
            confirmation_timeout_seconds=confirmation_timeout_seconds,
            requires_escalation_for=None if requires_escalation_for is None else list(requires_escalation_for),
            escalation_targets=None
            if escalation_targets is None
            else {scope: t if isinstance(t, str) else list(t) for scope, t in escalation_targets.items()},
        )

    def get(self, authorization_id: str) -> Any:
        return self._native.get_authorization(authorization_id)

    def revoke(self, authorization_id: str, *, revoked_by: str, notes: Optional[str] = None) -> Any:
        return self._native.revoke_authorization(authorization_id, revoked_by=revoked_by, notes=notes)


class ConfirmationsAPI:
    """The user's answer to a ``confirm`` decision."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def approve(self, confirm_nonce: str, *, approved: bool, ttl_seconds: Optional[float] = None) -> Any:
        return self._native.approve_confirmation(confirm_nonce, approved=approved, ttl_seconds=ttl_seconds)

    def get(self, confirmation_id: str) -> Any:
        return self._native.get_confirmation(confirmation_id)

    def get_status(self, confirmation_id: str) -> Any:
        """The 0.8.0 monitor view (``authority_status`` says whether the approval is still usable)."""
        return self._native.get_confirmation_status(confirmation_id)

    def wait(self, confirmation_id: str, *, timeout: float = 60.0, poll_interval: float = 1.0) -> Any:
        return self._native.wait_for_confirmation(confirmation_id, timeout=timeout, poll_interval=poll_interval)


class EscalationsAPI:
    """Decisions sent to a workspace member (``escalate``), read back by id."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def get_status(self, escalation_id: str) -> Any:
        """The 0.8.0 monitor view: whether the member answered and whether an approval is still usable."""
        return self._native.get_escalation_status(escalation_id)

    def get(self, escalation_id: str) -> Any:
        """0.8.0's alias of ``get_status``."""
        return self._native.get_escalation_status(escalation_id)

    def resolve(
        self, escalation_id: str, *, resolution: str, note: Optional[str] = None, resolved_by: Optional[str] = None
    ) -> Any:
        """Answers the level the escalation waits on, as the member whose credential (``allowly_mk_...``) this client
        holds. ``resolved_by`` is 0.8.0's keyword: optional here, and the server refuses it unless it names that
        same member (the resolver is always taken from the credential)."""
        return self._native.resolve_escalation(
            escalation_id, resolution=resolution, note=note, resolved_by=resolved_by
        )

    def approve(self, escalation_id: str, *, note: Optional[str] = None, resolved_by: Optional[str] = None) -> Any:
        return self._native.resolve_escalation(
            escalation_id, resolution="approved", note=note, resolved_by=resolved_by
        )

    def reject(self, escalation_id: str, *, note: Optional[str] = None, resolved_by: Optional[str] = None) -> Any:
        return self._native.resolve_escalation(
            escalation_id, resolution="rejected", note=note, resolved_by=resolved_by
        )

    def wait(self, escalation_id: str, *, timeout: float = 60.0, poll_interval: float = 1.0) -> Any:
        """Polls until no member is asked any more (approved at its last level, rejected or expired)."""
        return self._native.wait_for_escalation(escalation_id, timeout=timeout, poll_interval=poll_interval)


class PoliciesAPI:
    """Policy editions (a setup key's calls). Definitions are validated locally by core before anything is sent."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def create(
        self,
        *,
        policy_id: str,
        definition: Mapping[str, Any],
        description: Optional[str] = None,
        previous_policy_ref: Any = None,
        idempotency_key: Optional[str] = None,
    ) -> Any:
        return self._native.create_policy(
            policy_id=policy_id,
            definition=definition,
            description=description,
            previous_policy_ref=previous_policy_ref,
            idempotency_key=idempotency_key,
        )

    def get(self, policy_id: str) -> Any:
        return self._native.get_policy(policy_id)

    def list(self, *, limit: int = 100, cursor: Optional[str] = None) -> Any:
        return self._native.list_policies(limit=limit, cursor=cursor)

    def archive(self, policy_id: str, *, idempotency_key: Optional[str] = None) -> Any:
        return self._native.archive_policy(policy_id, idempotency_key=idempotency_key)

    def preview(self, *, definition: Mapping[str, Any], action: str, context: Mapping[str, Any]) -> Any:
        return self._native.preview_policy(definition=definition, action=action, context=context)

    def publish(
        self,
        *,
        policy_id: str,
        definition: Mapping[str, Any],
        idempotency_key: str,
        description: Optional[str] = None,
        previous_policy_ref: Any = None,
    ) -> Any:
        return self._native.create_policy(
            policy_id=policy_id,
            definition=definition,
            description=description,
            previous_policy_ref=previous_policy_ref,
            idempotency_key=idempotency_key,
            publish=True,
        )


class ReceiptsAPI:
    """Receipts are signed asynchronously: ``get`` returns what is there, ``fetch_signed`` waits for the signature."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def get(self, receipt_id: str, *, wait: Optional[float] = None) -> Any:
        return self._native.get_receipt(receipt_id, wait=wait)

    def fetch_signed(self, receipt_id: str, *, poll_interval: float = 1.0, timeout: float = 30.0) -> Any:
        return self._native.fetch_signed(receipt_id, poll_interval=poll_interval, timeout=timeout)


class BudgetAPI:
    """Settling a budgeted check replaces its estimate with what the action really cost."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def settle(self, *, check_receipt_id: str, actual_cost_micros: int) -> Any:
        return self._native.settle_budget(check_receipt_id=check_receipt_id, actual_cost_micros=actual_cost_micros)


class KeysAPI:
    """The workspace's public keys, fetched once and cached by the caller; verification then needs no network."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def fetch(self, workspace_id: str) -> Any:
        return self._native.workspace_keys(workspace_id)


class AgentsAPI:
    """Agent enrollment (setup key): the Ed25519 key is generated here and only its public half is registered."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def enroll(self, agent_id: str) -> Any:
        """Registers a new key for ``agent_id``; returns the ``AgentCredential`` (store ``to_json()`` privately)."""
        return self._native.enroll_agent(agent_id)


class ApiKeysAPI:
    """The workspace's API keys. A created key's text is shown once (``CreatedApiKey.key``; never in its repr)."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def create(self, *, tier: str, name: str) -> Any:
        return self._native.create_api_key(tier=tier, name=name)

    def list(self) -> Any:
        return self._native.list_api_keys()

    def revoke(self, id: str) -> Any:
        return self._native.revoke_api_key(id)


class WebhookAPI:
    """The workspace's webhook endpoint. ``set`` answers a new signing secret, once."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def set(self, url: str) -> Any:
        return self._native.set_webhook(url)

    def get(self) -> Any:
        return self._native.get_webhook()

    def delete(self) -> Any:
        return self._native.delete_webhook()


class MembersAPI:
    """The members who answer escalations. A created member's credential is shown once (``CreatedMember.credential``;
    never in its repr): hand it to the member, whose own client then resolves what is addressed to them."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def create(self, member_id: str, *, display_name: Optional[str] = None) -> Any:
        return self._native.create_member(member_id, display_name=display_name)

    def list(self) -> Any:
        return self._native.list_members()

    def rotate_credential(self, member_id: str) -> Any:
        """A new credential; the old one stops working at once."""
        return self._native.rotate_member_credential(member_id)

    def revoke(self, member_id: str) -> Any:
        return self._native.revoke_member(member_id)


class SigningKeysAPI:
    """Receipt signing keys: ``rotate`` makes a new one active now; the old one stays published for verification."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def rotate(self) -> Any:
        return self._native.rotate_signing_key()


class AuditAPI:
    """Signed receipts read back: ``list`` one page, ``iter`` every matching receipt (newest first), ``export``
    every receipt of a time range (oldest first)."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        self._native = native

    def list(
        self,
        *,
        user_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        authorization_id: Optional[str] = None,
        run_id: Optional[str] = None,
        action: Optional[str] = None,
        decision: Optional[str] = None,
        since: Union[datetime, str, None] = None,
        until: Union[datetime, str, None] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> Any:
        return self._native.audit(
            user_id=user_id,
            agent_id=agent_id,
            authorization_id=authorization_id,
            run_id=run_id,
            action=action,
            decision=decision,
            since=_time(since),
            until=_time(until),
            limit=limit,
            cursor=cursor,
        )

    def iter(
        self,
        *,
        user_id: Optional[str] = None,
        agent_id: Optional[str] = None,
        authorization_id: Optional[str] = None,
        run_id: Optional[str] = None,
        action: Optional[str] = None,
        decision: Optional[str] = None,
        since: Union[datetime, str, None] = None,
        until: Union[datetime, str, None] = None,
        limit: Optional[int] = None,
    ) -> Any:
        """Every matching signed receipt, fetched a page (``limit``) at a time as the loop asks for them: an async
        iterator on ``Allowly``, a plain iterator on ``SyncAllowly``."""
        pages = self._native.audit_pages(
            user_id=user_id,
            agent_id=agent_id,
            authorization_id=authorization_id,
            run_id=run_id,
            action=action,
            decision=decision,
            since=_time(since),
            until=_time(until),
            limit=limit,
        )
        return _sync_receipts(pages) if self._native.blocking else _async_receipts(pages)

    def export(self, *, since: Union[datetime, str, None] = None, until: Union[datetime, str, None] = None) -> Any:
        return self._native.export_receipts(since=_time(since), until=_time(until))


def _time(value: Union[datetime, str, None]) -> Optional[str]:
    # A naive datetime renders without an offset, and core refuses it with a typed validation error.
    return value.isoformat() if isinstance(value, datetime) else value


def _sync_receipts(pages: Any) -> Iterator[Any]:
    while (page := pages.next_page()) is not None:
        yield from page.receipts


async def _async_receipts(pages: Any) -> AsyncIterator[Any]:
    while (page := await pages.next_page()) is not None:
        for receipt in page.receipts:
            yield receipt


class AdminAPI:
    """The setup key's calls (``client.admin``): API keys, the webhook endpoint, signing keys, the audit trail and the
    members who answer escalations. With a runtime key each raises ``PermissionDeniedError``
    (``insufficient_key_tier``)."""

    __slots__ = ("api_keys", "webhook", "signing_keys", "audit", "members")

    def __init__(self, native: _native.NativeClient) -> None:
        self.api_keys = ApiKeysAPI(native)
        self.webhook = WebhookAPI(native)
        self.signing_keys = SigningKeysAPI(native)
        self.audit = AuditAPI(native)
        self.members = MembersAPI(native)


class _Client:
    _BLOCKING = False

    def __init__(
        self,
        api_key: str,
        *,
        base_url: Optional[str] = None,
        timeout: Optional[float] = None,
        check_timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_by_scope: Optional[Mapping[str, str]] = None,
        allow_insecure_http: bool = False,
        agent_credential: Optional[_native.AgentCredential] = None,
        agent_token_supplier: Optional[Callable[[], Union[str, Awaitable[str]]]] = None,
    ) -> None:
        # `agent_token_supplier` is 0.8.0's name; `credential.token` (a bound method) is recognised and signed in core.
        if agent_credential is None and isinstance(getattr(agent_token_supplier, "__self__", None), _native.AgentCredential):
            agent_credential, agent_token_supplier = agent_token_supplier.__self__, None  # type: ignore[union-attr]
        # An async supplier (0.8.0 accepts one) is awaited here, on the caller's event loop, before each check: core's
        # runtime threads cannot run a coroutine. A plain function still goes to core, which calls it per check.
        self._async_token_supplier: Optional[Callable[[], Awaitable[str]]] = None
        if agent_token_supplier is not None and _is_async_callable(agent_token_supplier):
            if self._BLOCKING:
                raise TypeError("SyncAllowly needs a plain function as agent_token_supplier; use allowly.Allowly for an async one")
            self._async_token_supplier, agent_token_supplier = agent_token_supplier, None  # type: ignore[assignment]
        self._native = _native.NativeClient(
            api_key,
            base_url=base_url,
            timeout=timeout,
            check_timeout=check_timeout,
            max_retries=max_retries,
            fallback_by_scope=None if fallback_by_scope is None else dict(fallback_by_scope),
            allow_insecure_http=allow_insecure_http,
            blocking=self._BLOCKING,
            agent_credential=agent_credential,
            agent_token_supplier=agent_token_supplier,
        )
        self.authorizations = AuthorizationsAPI(self._native)
        self.confirmations = ConfirmationsAPI(self._native)
        self.escalations = EscalationsAPI(self._native)
        self.receipts = ReceiptsAPI(self._native)
        self.budget = BudgetAPI(self._native)
        self.keys = KeysAPI(self._native)
        self.policies = PoliciesAPI(self._native)
        self.agents = AgentsAPI(self._native)
        self.admin = AdminAPI(self._native)

    def check(
        self,
        *,
        authorization_id: str,
        scopes: Optional[Sequence[str]] = None,
        resource: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
        session_id: Optional[str] = None,
        estimated_cost_micros: Optional[int] = None,
        wait: bool = False,
        actions: Optional[Sequence[str]] = None,
        client_timestamp: Union[datetime, str, None] = None,
        idempotency_key: Optional[str] = None,
        arguments: Optional[Mapping[str, Any]] = None,
        arguments_sha256: Optional[str] = None,
        confirmation_id: Optional[str] = None,
        agent_token: Optional[str] = None,
    ) -> Any:
        # `actions` is the official 0.8.0 SDK's name for `scopes`; code written for either runs unchanged.
        if (scopes is None) == (actions is None):
            raise TypeError("check() takes exactly one of scopes= or actions=")
        if isinstance(client_timestamp, datetime):
            # A naive datetime renders without an offset, and core refuses it with a typed validation error.
            client_timestamp = client_timestamp.isoformat()
        request = dict(
            authorization_id=authorization_id,
            scopes=list(scopes if scopes is not None else actions),  # type: ignore[arg-type]
            resource=resource,
            context=context,
            session_id=session_id,
            estimated_cost_micros=estimated_cost_micros,
            wait=wait,
            trace=current_trace() or None,
            client_timestamp=client_timestamp,
            idempotency_key=idempotency_key,
            arguments=arguments,
            arguments_sha256=arguments_sha256,
            confirmation_id=confirmation_id,
        )
        if agent_token is None and self._async_token_supplier is not None:
            return self._check_with_supplied_token(**request)
        return self._native.check(**request, agent_token=agent_token)

    async def _check_with_supplied_token(self, **request: Any) -> Any:
        supplier = self._async_token_supplier
        assert supplier is not None
        try:
            token = await supplier()
        except Exception as e:  # the supplier's message may hold a secret: only its type is reported, as core does
            raise ConfigError(f"the agent token supplier failed: {type(e).__name__}", code="invalid_config") from None
        if not isinstance(token, str):
            raise ConfigError("the agent token supplier must return a str", code="invalid_config")
        return await self._native.check(**request, agent_token=token)

    def readiness(self) -> Any:
        """True when the server reports ready (``GET /readyz``); a not-ready answer is ``False``, not an error."""
        return self._native.readiness()

    @property
    def base_url(self) -> str:
        return self._native.base_url

    @property
    def closed(self) -> bool:
        return self._native.closed

    def close(self) -> None:
        self._native.close()

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"{type(self).__name__}(base_url={self.base_url!r}{state})"


class Allowly(_Client):
    """The asyncio client: every call returns an awaitable. ``async with Allowly(...)`` closes it on exit."""

    _BLOCKING = False

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> "Allowly":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class SyncAllowly(_Client):
    """The blocking client for scripts and frameworks without an event loop; the GIL is released while it waits."""

    _BLOCKING = True

    def __enter__(self) -> "SyncAllowly":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: ``allowly.Admin``: the type of ``client.admin``.
Admin = AdminAPI


def _is_async_callable(fn: Any) -> bool:
    """An ``async def`` function, a partial of one, or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))
