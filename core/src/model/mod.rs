//! Wire models: serde types for every request and response of the runtime routes of wire-v1
//! (`docs/wire-v1.md` at the repository root).
//!
//! They are declared once here and every binding maps them, so no language re-declares the wire. Rules shared by all of
//! them:
//!
//! - requests serialize the seed's name `scopes`; responses also accept `actions`, the name older servers echo back;
//! - optional request fields are omitted when `None` rather than sent as `null`, so the body is the smallest one the
//!   server accepts;
//! - unknown response fields are ignored (the server may add fields within v1), but a missing required field is an
//!   error: the client turns it into [`Error::Protocol`] naming the route and the field;
//! - list fields of responses accept `null` as empty, because a list that is absent and a list that is empty mean the
//!   same thing to a caller;
//! - a signed receipt keeps the exact bytes the server sent ([`SignedReceipt`]), because the offline verifier must run
//!   its strict parser over what was signed, not over a re-serialization.

pub mod admin;
pub mod authorization;
pub mod budget;
pub mod check;
pub mod confirmation;
pub mod edition_authorization;
pub mod error_envelope;
pub mod escalation;
pub mod members;
pub mod policies;
pub mod policy;
pub mod reason;
pub mod receipt;

pub use admin::{
    ApiKey, ApiKeyRevocation, ApiKeyTier, AuditPage, AuditQuery, AuditRow, CreateApiKeyRequest, CreatedApiKey,
    MAX_AUDIT_PAGE, Secret, SigningKeyRotation, WebhookEndpoint, WebhookSecret,
};
pub use authorization::{
    Authorization, AuthorizationStatus, Condition, ConditionOp, CreateAuthorizationRequest, Revocation, RevokeRequest,
    ScopeConstraints, ScopeGrant,
};
pub use budget::{BudgetInfo, Settlement, SettlementRequest};
pub use check::{CheckRequest, CheckResponse, Decision, MAX_CONTEXT_BYTES, MAX_SCOPES_PER_CHECK, ScopeResult};
pub use confirmation::{
    ApproveConfirmationRequest, Confirmation, ConfirmationDecision, ConfirmationMonitor, ConfirmationResolution,
    ConfirmationStatus,
};
pub use edition_authorization::{
    AuthorizationArgs, AuthorizationRequest, CreateEditionAuthorizationRequest, CreatedAuthorization,
    EditionAuthorization,
};
pub use error_envelope::{ErrorBody, ErrorEnvelope};
pub use escalation::{
    EscalationMonitor, EscalationResolution, EscalationResolved, EscalationStep, MAX_ESCALATION_NOTE,
    ResolveEscalationRequest,
};
pub use members::{
    CreateMemberRequest, CreatedMember, MEMBER_CREDENTIAL_PREFIX, Member, MemberRevocation, member_of_target,
    validate_member_id,
};
pub use policies::{
    AuthorizationMigration, CreatePolicyRequest, Policy, PolicyPage, PolicyPreview, PolicyPreviewRequest,
    PolicyPublication,
};
pub use policy::{PolicyEval, PolicyRef, PolicyResult};
pub use reason::{Reason, UnknownReason};
pub use receipt::{ReceiptEnvelope, ReceiptParts, ReceiptStatus, SignedReceipt};

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// Deserializes `null` as the type's default, so `"fields": null` and a missing `fields` both read as empty.
/// Use together with `#[serde(default)]`.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Local check of an identifier that goes into a URL path or a request body, before anything is sent.
///
/// `.` and `..` are rejected because a URL library drops them as path segments, which would silently address a
/// different route.
pub(crate) fn validate_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_input(field, format!("{field} must not be empty")));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input(field, format!("{field} must not be `.` or `..`")));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_input(field, format!("{field} must not contain control characters")));
    }
    Ok(())
}
