# Type stubs of _client.py. At run time both clients share one namespace class per route family (the native
# client decides awaitable or blocking); here they are split so each client's methods have exact return types.
# tests/test_stubs.py checks every signature below against the runtime objects.
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, List, Mapping, Optional, Sequence, Union, overload

from ._native import (
    AgentCredential,
    ApiKey,
    ApiKeyRevocation,
    AuditPage,
    Authorization,
    CheckResult,
    Confirmation,
    ConfirmationMonitor,
    ConfirmationResolution,
    CreatedApiKey,
    CreatedMember,
    EditionAuthorization,
    EscalationMonitor,
    EscalationResolved,
    KeySet,
    Member,
    MemberRevocation,
    Policy,
    PolicyPage,
    PolicyPreview,
    PolicyPublication,
    PolicyRef,
    Receipt,
    Revocation,
    Settlement,
    SignedReceipt,
    SigningKeyRotation,
    WebhookEndpoint,
    WebhookSecret,
)

__all__ = ["Admin", "Allowly", "SyncAllowly"]

class AsyncAuthorizationsAPI:
    @overload
    async def create(
        self,
        *,
        user_id: str,
        policy_id: str,
        policy_version: int,
        actions: Optional[Sequence[str]] = None,
        expires_at: Union[datetime, str, None] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        budget_limit_micros: Optional[int] = None,
        replaces: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        confirmation_timeout_seconds: Optional[int] = None,
    ) -> EditionAuthorization: ...
    @overload
    async def create(
        self,
        *,
        user_id: str,
        agent_id: str,
        scopes: Sequence[Union[str, Mapping[str, Any]]],
        expires_at: Union[datetime, str, None] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        budget_limit_micros: Optional[int] = None,
        requires_confirm_for: Optional[Sequence[str]] = None,
        requires_deny_for: Optional[Sequence[str]] = None,
        replaces: Optional[str] = None,
        confirmation_timeout_seconds: Optional[int] = None,
        requires_escalation_for: Optional[Sequence[str]] = None,
        escalation_targets: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
    ) -> Authorization: ...
    async def create(
        self,
        *,
        user_id: str,
        agent_id: Optional[str] = None,
        scopes: Optional[Sequence[Union[str, Mapping[str, Any]]]] = None,
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
    ) -> Union[Authorization, EditionAuthorization]: ...
    async def get(self, authorization_id: str) -> Authorization: ...
    async def revoke(self, authorization_id: str, *, revoked_by: str, notes: Optional[str] = None) -> Revocation: ...

class AsyncConfirmationsAPI:
    async def approve(
        self, confirm_nonce: str, *, approved: bool, ttl_seconds: Optional[float] = None
    ) -> ConfirmationResolution: ...
    async def get(self, confirmation_id: str) -> Confirmation: ...
    async def get_status(self, confirmation_id: str) -> ConfirmationMonitor: ...
    async def wait(
        self, confirmation_id: str, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> Confirmation: ...

class AsyncEscalationsAPI:
    async def get_status(self, escalation_id: str) -> EscalationMonitor: ...
    async def get(self, escalation_id: str) -> EscalationMonitor: ...
    async def resolve(
        self, escalation_id: str, *, resolution: str, note: Optional[str] = None, resolved_by: Optional[str] = None
    ) -> EscalationResolved: ...
    async def approve(
        self, escalation_id: str, *, note: Optional[str] = None, resolved_by: Optional[str] = None
    ) -> EscalationResolved: ...
    async def reject(
        self, escalation_id: str, *, note: Optional[str] = None, resolved_by: Optional[str] = None
    ) -> EscalationResolved: ...
    async def wait(
        self, escalation_id: str, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> EscalationMonitor: ...

class AsyncPoliciesAPI:
    async def create(
        self,
        *,
        policy_id: str,
        definition: Mapping[str, Any],
        description: Optional[str] = None,
        previous_policy_ref: Union[PolicyRef, Mapping[str, Any], None] = None,
        idempotency_key: Optional[str] = None,
    ) -> Policy: ...
    async def get(self, policy_id: str) -> Policy: ...
    async def list(self, *, limit: int = 100, cursor: Optional[str] = None) -> PolicyPage: ...
    async def archive(self, policy_id: str, *, idempotency_key: Optional[str] = None) -> None: ...
    async def preview(self, *, definition: Mapping[str, Any], action: str, context: Mapping[str, Any]) -> PolicyPreview: ...
    async def publish(
        self,
        *,
        policy_id: str,
        definition: Mapping[str, Any],
        idempotency_key: str,
        description: Optional[str] = None,
        previous_policy_ref: Union[PolicyRef, Mapping[str, Any], None] = None,
    ) -> PolicyPublication: ...

class AsyncReceiptsAPI:
    async def get(self, receipt_id: str, *, wait: Optional[float] = None) -> Receipt: ...
    async def fetch_signed(
        self, receipt_id: str, *, poll_interval: float = 1.0, timeout: float = 30.0
    ) -> SignedReceipt: ...

class AsyncBudgetAPI:
    async def settle(self, *, check_receipt_id: str, actual_cost_micros: int) -> Settlement: ...

class AsyncKeysAPI:
    async def fetch(self, workspace_id: str) -> KeySet: ...

class AsyncAgentsAPI:
    async def enroll(self, agent_id: str) -> AgentCredential: ...

class AsyncApiKeysAPI:
    async def create(self, *, tier: str, name: str) -> CreatedApiKey: ...
    async def list(self) -> List[ApiKey]: ...
    async def revoke(self, id: str) -> ApiKeyRevocation: ...

class AsyncWebhookAPI:
    async def set(self, url: str) -> WebhookSecret: ...
    async def get(self) -> WebhookEndpoint: ...
    async def delete(self) -> None: ...

class AsyncMembersAPI:
    async def create(self, member_id: str, *, display_name: Optional[str] = None) -> CreatedMember: ...
    async def list(self) -> List[Member]: ...
    async def rotate_credential(self, member_id: str) -> CreatedMember: ...
    async def revoke(self, member_id: str) -> MemberRevocation: ...

class AsyncSigningKeysAPI:
    async def rotate(self) -> SigningKeyRotation: ...

class AsyncAuditAPI:
    async def list(
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
    ) -> AuditPage: ...
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
    ) -> AsyncIterator[SignedReceipt]: ...
    async def export(
        self, *, since: Union[datetime, str, None] = None, until: Union[datetime, str, None] = None
    ) -> List[SignedReceipt]: ...

class AsyncAdminAPI:
    api_keys: AsyncApiKeysAPI
    webhook: AsyncWebhookAPI
    signing_keys: AsyncSigningKeysAPI
    audit: AsyncAuditAPI
    members: AsyncMembersAPI

class SyncAuthorizationsAPI:
    @overload
    def create(
        self,
        *,
        user_id: str,
        policy_id: str,
        policy_version: int,
        actions: Optional[Sequence[str]] = None,
        expires_at: Union[datetime, str, None] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        budget_limit_micros: Optional[int] = None,
        replaces: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        confirmation_timeout_seconds: Optional[int] = None,
    ) -> EditionAuthorization: ...
    @overload
    def create(
        self,
        *,
        user_id: str,
        agent_id: str,
        scopes: Sequence[Union[str, Mapping[str, Any]]],
        expires_at: Union[datetime, str, None] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        budget_limit_micros: Optional[int] = None,
        requires_confirm_for: Optional[Sequence[str]] = None,
        requires_deny_for: Optional[Sequence[str]] = None,
        replaces: Optional[str] = None,
        confirmation_timeout_seconds: Optional[int] = None,
        requires_escalation_for: Optional[Sequence[str]] = None,
        escalation_targets: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
    ) -> Authorization: ...
    def create(
        self,
        *,
        user_id: str,
        agent_id: Optional[str] = None,
        scopes: Optional[Sequence[Union[str, Mapping[str, Any]]]] = None,
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
    ) -> Union[Authorization, EditionAuthorization]: ...
    def get(self, authorization_id: str) -> Authorization: ...
    def revoke(self, authorization_id: str, *, revoked_by: str, notes: Optional[str] = None) -> Revocation: ...

class SyncConfirmationsAPI:
    def approve(
        self, confirm_nonce: str, *, approved: bool, ttl_seconds: Optional[float] = None
    ) -> ConfirmationResolution: ...
    def get(self, confirmation_id: str) -> Confirmation: ...
    def get_status(self, confirmation_id: str) -> ConfirmationMonitor: ...
    def wait(self, confirmation_id: str, *, timeout: float = 60.0, poll_interval: float = 1.0) -> Confirmation: ...

class SyncEscalationsAPI:
    def get_status(self, escalation_id: str) -> EscalationMonitor: ...
    def get(self, escalation_id: str) -> EscalationMonitor: ...
    def resolve(
        self, escalation_id: str, *, resolution: str, note: Optional[str] = None, resolved_by: Optional[str] = None
    ) -> EscalationResolved: ...
    def approve(
        self, escalation_id: str, *, note: Optional[str] = None, resolved_by: Optional[str] = None
    ) -> EscalationResolved: ...
    def reject(
        self, escalation_id: str, *, note: Optional[str] = None, resolved_by: Optional[str] = None
    ) -> EscalationResolved: ...
    def wait(
        self, escalation_id: str, *, timeout: float = 60.0, poll_interval: float = 1.0
    ) -> EscalationMonitor: ...

class SyncPoliciesAPI:
    def create(
        self,
        *,
        policy_id: str,
        definition: Mapping[str, Any],
        description: Optional[str] = None,
        previous_policy_ref: Union[PolicyRef, Mapping[str, Any], None] = None,
        idempotency_key: Optional[str] = None,
    ) -> Policy: ...
    def get(self, policy_id: str) -> Policy: ...
    def list(self, *, limit: int = 100, cursor: Optional[str] = None) -> PolicyPage: ...
    def archive(self, policy_id: str, *, idempotency_key: Optional[str] = None) -> None: ...
    def preview(self, *, definition: Mapping[str, Any], action: str, context: Mapping[str, Any]) -> PolicyPreview: ...
    def publish(
        self,
        *,
        policy_id: str,
        definition: Mapping[str, Any],
        idempotency_key: str,
        description: Optional[str] = None,
        previous_policy_ref: Union[PolicyRef, Mapping[str, Any], None] = None,
    ) -> PolicyPublication: ...

class SyncReceiptsAPI:
    def get(self, receipt_id: str, *, wait: Optional[float] = None) -> Receipt: ...
    def fetch_signed(self, receipt_id: str, *, poll_interval: float = 1.0, timeout: float = 30.0) -> SignedReceipt: ...

class SyncBudgetAPI:
    def settle(self, *, check_receipt_id: str, actual_cost_micros: int) -> Settlement: ...

class SyncKeysAPI:
    def fetch(self, workspace_id: str) -> KeySet: ...

class SyncAgentsAPI:
    def enroll(self, agent_id: str) -> AgentCredential: ...

class SyncApiKeysAPI:
    def create(self, *, tier: str, name: str) -> CreatedApiKey: ...
    def list(self) -> List[ApiKey]: ...
    def revoke(self, id: str) -> ApiKeyRevocation: ...

class SyncWebhookAPI:
    def set(self, url: str) -> WebhookSecret: ...
    def get(self) -> WebhookEndpoint: ...
    def delete(self) -> None: ...

class SyncMembersAPI:
    def create(self, member_id: str, *, display_name: Optional[str] = None) -> CreatedMember: ...
    def list(self) -> List[Member]: ...
    def rotate_credential(self, member_id: str) -> CreatedMember: ...
    def revoke(self, member_id: str) -> MemberRevocation: ...

class SyncSigningKeysAPI:
    def rotate(self) -> SigningKeyRotation: ...

class SyncAuditAPI:
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
    ) -> AuditPage: ...
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
    ) -> Iterator[SignedReceipt]: ...
    def export(
        self, *, since: Union[datetime, str, None] = None, until: Union[datetime, str, None] = None
    ) -> List[SignedReceipt]: ...

class SyncAdminAPI:
    api_keys: SyncApiKeysAPI
    webhook: SyncWebhookAPI
    signing_keys: SyncSigningKeysAPI
    audit: SyncAuditAPI
    members: SyncMembersAPI

class Allowly:
    authorizations: AsyncAuthorizationsAPI
    confirmations: AsyncConfirmationsAPI
    escalations: AsyncEscalationsAPI
    receipts: AsyncReceiptsAPI
    budget: AsyncBudgetAPI
    keys: AsyncKeysAPI
    policies: AsyncPoliciesAPI
    agents: AsyncAgentsAPI
    admin: AsyncAdminAPI
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
        agent_credential: Optional[AgentCredential] = None,
        agent_token_supplier: Optional[Callable[[], Union[str, Awaitable[str]]]] = None,
    ) -> None: ...
    async def check(
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
    ) -> CheckResult: ...
    async def readiness(self) -> bool: ...
    @property
    def base_url(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    async def aclose(self) -> None: ...
    async def __aenter__(self) -> "Allowly": ...
    async def __aexit__(self, *exc: object) -> None: ...

class SyncAllowly:
    authorizations: SyncAuthorizationsAPI
    confirmations: SyncConfirmationsAPI
    escalations: SyncEscalationsAPI
    receipts: SyncReceiptsAPI
    budget: SyncBudgetAPI
    keys: SyncKeysAPI
    policies: SyncPoliciesAPI
    agents: SyncAgentsAPI
    admin: SyncAdminAPI
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
        agent_credential: Optional[AgentCredential] = None,
        agent_token_supplier: Optional[Callable[[], str]] = None,
    ) -> None: ...
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
    ) -> CheckResult: ...
    def readiness(self) -> bool: ...
    @property
    def base_url(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> "SyncAllowly": ...
    def __exit__(self, *exc: object) -> None: ...

# `allowly.Admin` is the runtime class of `client.admin`; its methods are awaitable or blocking as the client's are.
Admin = AsyncAdminAPI
