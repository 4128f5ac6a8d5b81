"""Allowly for Python: ask before every agent action, get allow / confirm / deny, keep signed receipts.

A thin front over the Rust allowly-core (``allowly._native``); see the package README for a quick start.
"""

# First, before anything that could fail on a mixed install: the vendor's `allowly` distribution writes this same
# folder, and this warning is the only place that tells the user (`allowly/_conflict.py`).
from ._conflict import DistributionConflictWarning, warn_if_conflicting

warn_if_conflicting(__file__)

from . import identifiers, policies, verify  # noqa: E402
from ._client import Admin, Allowly, SyncAllowly  # noqa: E402
from ._native import (  # noqa: E402
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
from .errors import *  # noqa: F403,E402 - the exception hierarchy is part of the top-level API
from .errors import __all__ as _errors_all  # noqa: E402
from .policies import PolicyDefinition  # noqa: E402
from .trace import current_trace, trace  # noqa: E402

# 0.8.0's name for the same credential: `NativeAgentCredential.from_file(...)` and `credential.token` work unchanged.
NativeAgentCredential = AgentCredential

__all__ = [
    "Admin",
    "Allowly",
    "SyncAllowly",
    "trace",
    "current_trace",
    "DistributionConflictWarning",
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
    # optional extra (`pip install 'openallowly[fastmcp]'`).
    if name == "AllowlyMCPMiddleware":
        from .mcp.fastmcp import AllowlyMCPMiddleware

        return AllowlyMCPMiddleware
    raise AttributeError(f"module 'allowly' has no attribute {name!r}")
