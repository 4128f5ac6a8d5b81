"""Allowly for Python: ask before every agent action, get allow / confirm / deny, keep signed receipts.

A thin front over the Rust allowly-core (``allowly._native``); see the package README for a quick start.
"""

from . import identifiers, policies, verify
from ._client import Admin, Allowly, SyncAllowly
from ._native import (
    AgentCredential,
    ApiKey,
    ApiKeyRevocation,
    AuditPage,
    AuditRow,
    Authorization,
    AuthorizationMigration,
    Budget,
    CheckResult,
    Confirmation,
    CreatedApiKey,
    CreatedMember,
    ConfirmationMonitor,
    ConfirmationResolution,
    EditionAuthorization,
    EscalationMonitor,
    EscalationResolved,
    EscalationStep,
    FieldError,
    KeySet,
    Member,
    MemberRevocation,
    MemorySeenIds,
    Policy,
    PolicyEval,
    PolicyPage,
    PolicyPreview,
    PolicyPublication,
    PolicyRef,
    PolicyResult,
    Receipt,
    Revocation,
    ScopeResult,
    Settlement,
    SignedReceipt,
    SigningKeyRotation,
    VerifiedReceipt,
    WebhookEndpoint,
    WebhookSecret,
    __version__,
    verify_webhook,
)
from .errors import *  # noqa: F403 - the exception hierarchy is part of the top-level API
from .errors import __all__ as _errors_all
from .policies import PolicyDefinition
from .trace import current_trace, trace

# 0.8.0's name for the same credential: `NativeAgentCredential.from_file(...)` and `credential.token` work unchanged.
NativeAgentCredential = AgentCredential

__all__ = [
    "Admin",
    "Allowly",
    "SyncAllowly",
    "trace",
    "current_trace",
    "identifiers",
    "policies",
    "verify",
    "AgentCredential",
    "NativeAgentCredential",
    "ApiKey",
    "ApiKeyRevocation",
    "AuditPage",
    "AuditRow",
    "Authorization",
    "AuthorizationMigration",
    "Budget",
    "CheckResult",
    "Confirmation",
    "ConfirmationMonitor",
    "ConfirmationResolution",
    "CreatedApiKey",
    "CreatedMember",
    "EditionAuthorization",
    "EscalationMonitor",
    "EscalationResolved",
    "EscalationStep",
    "FieldError",
    "KeySet",
    "Member",
    "MemberRevocation",
    "MemorySeenIds",
    "Policy",
    "PolicyDefinition",
    "PolicyEval",
    "PolicyPage",
    "PolicyPreview",
    "PolicyPublication",
    "PolicyRef",
    "PolicyResult",
    "Receipt",
    "Revocation",
    "ScopeResult",
    "Settlement",
    "SignedReceipt",
    "SigningKeyRotation",
    "VerifiedReceipt",
    "verify_webhook",
    "WebhookEndpoint",
    "WebhookSecret",
    "__version__",
    *_errors_all,
]


def __getattr__(name: str) -> object:
    # The seed's `from allowly import AllowlyMCPMiddleware` (FastMCP); imported on first use, since FastMCP is an
    # optional extra (`pip install 'allowly[fastmcp]'`).
    if name == "AllowlyMCPMiddleware":
        from .mcp.fastmcp import AllowlyMCPMiddleware

        return AllowlyMCPMiddleware
    raise AttributeError(f"module 'allowly' has no attribute {name!r}")
