//! Every `error.code` the server answers with, in one table.
//!
//! The official SDKs branch on these strings (core maps them to its error kinds), so they never change on the wire;
//! declaring them once keeps a route from inventing a near-duplicate and lets a test list them all.

use std::fmt;

use axum::http::StatusCode;

/// One wire error code with the status it is normally answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireCode {
    /// 400: the body is not JSON.
    MalformedJson,
    /// 400: a request axum refused before our handler ran (see [`WireCode::for_bare_status`]).
    MalformedRequest,
    /// 401: missing, malformed or unknown API key.
    InvalidApiKey,
    /// 401: an agent token naming a key this workspace has not registered (or has revoked): it cannot be verified,
    /// so it is refused, never ignored.
    AgentTokenUnverifiable,
    /// 401: not a compact EdDSA agent token (segments, encoding, header, claims, issuer).
    AgentTokenMalformed,
    /// 401: the token's `aud` is another workspace.
    AgentTokenWrongAudience,
    /// 401: the signature does not verify with the registered key, or the key belongs to another agent or binding.
    AgentTokenInvalidSignature,
    /// 401: outside its validity window (or valid for more than 5 minutes).
    AgentTokenExpired,
    /// 401: the token's agent is not the checked authorization's agent.
    AgentTokenAgentMismatch,
    /// 401: the workspace requires an agent token on checks and none was sent.
    AgentTokenRequired,
    /// 403: a runtime key on a setup route, or a member credential on any route but an escalation's.
    InsufficientKeyTier,
    /// 403: an API key on the one route only a member may call (resolving an escalation): who resolved must come from
    /// a member's own credential.
    MemberCredentialRequired,
    /// 403: a member resolving an escalation that waits on another member at its current level.
    EscalationWrongMember,
    /// 403: `resolved_by` in the body names someone else than the credential's member.
    ResolvedByMismatch,
    /// 404: no such route.
    NotFound,
    AuthorizationNotFound,
    ConfirmationNotFound,
    ReceiptNotFound,
    WorkspaceNotFound,
    ApiKeyNotFound,
    WebhookNotFound,
    /// 404: rotating the resolution webhook of a workspace that never configured one.
    ResolutionWebhookNotConfigured,
    PolicyNotFound,
    EscalationNotFound,
    AgentKeyNotFound,
    /// 405
    MethodNotAllowed,
    /// 408: the request took longer than the server's timeout.
    RequestTimeout,
    /// 409: an `Idempotency-Key` reused with another request.
    IdempotencyConflict,
    /// 409: a budget settlement for a check already settled.
    AlreadySettled,
    /// 409: revoking the workspace's last live setup key.
    LastSetupKey,
    /// 409: a new edition that does not name the newest one as `previous_policy_ref` (or names a stale one).
    PolicyVersionConflict,
    /// 409: a new edition, or an authorization, for an archived policy.
    PolicyArchived,
    /// 409: creating something whose id exists (a member id, live or revoked).
    Conflict,
    /// 409: resolving an escalation (level) that is no longer pending: another resolve won.
    EscalationNotPending,
    /// 410: resolving a pending escalation past its expiry.
    EscalationExpired,
    /// 410: a confirmation nonce past its TTL.
    ConfirmationExpired,
    /// 413: a body over 64 KiB.
    PayloadTooLarge,
    /// 415
    UnsupportedMediaType,
    /// 422: the generic one, with `fields`.
    ValidationError,
    /// 422: a member the route does not know.
    UnknownField,
    /// 422: a budgeted check without `estimated_cost_micros`.
    BudgetEstimateRequired,
    /// 422: a budgeted check naming several scopes.
    BudgetSingleScope,
    /// 422: settling a check that was not an allowed check of a budgeted authorization.
    NotBudgeted,
    /// 429 with `Retry-After`: the API key's or the authorization's request rate limit (nothing was stored).
    RateLimited,
    /// 501: a route of the official API this server does not implement yet (executions, seal, ...). Answered, never
    /// silently accepted, so a caller cannot mistake it for success.
    NotSupported,
    /// 503 with `Retry-After`: retry later (also every internal failure, without details).
    Unavailable,
    /// 503 with `Retry-After`: the server is beyond its capacity and refused the request before any work
    /// (`crate::admission`); nothing was stored, so the same request may simply be sent again.
    Overloaded,
}

impl WireCode {
    /// Every code, so a test can check the table's spelling rules and that no two codes collide.
    pub const ALL: [WireCode; 47] = [
        Self::MalformedJson,
        Self::MalformedRequest,
        Self::InvalidApiKey,
        Self::AgentTokenUnverifiable,
        Self::AgentTokenMalformed,
        Self::AgentTokenWrongAudience,
        Self::AgentTokenInvalidSignature,
        Self::AgentTokenExpired,
        Self::AgentTokenAgentMismatch,
        Self::AgentTokenRequired,
        Self::InsufficientKeyTier,
        Self::MemberCredentialRequired,
        Self::EscalationWrongMember,
        Self::ResolvedByMismatch,
        Self::NotFound,
        Self::AuthorizationNotFound,
        Self::ConfirmationNotFound,
        Self::ReceiptNotFound,
        Self::WorkspaceNotFound,
        Self::ApiKeyNotFound,
        Self::WebhookNotFound,
        Self::ResolutionWebhookNotConfigured,
        Self::PolicyNotFound,
        Self::EscalationNotFound,
        Self::AgentKeyNotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::IdempotencyConflict,
        Self::AlreadySettled,
        Self::LastSetupKey,
        Self::PolicyVersionConflict,
        Self::PolicyArchived,
        Self::Conflict,
        Self::EscalationNotPending,
        Self::EscalationExpired,
        Self::ConfirmationExpired,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::ValidationError,
        Self::UnknownField,
        Self::BudgetEstimateRequired,
        Self::BudgetSingleScope,
        Self::NotBudgeted,
        Self::RateLimited,
        Self::NotSupported,
        Self::Unavailable,
        Self::Overloaded,
    ];

    /// The `error.code` member on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::MalformedRequest => "malformed_request",
            Self::InvalidApiKey => "invalid_api_key",
            Self::AgentTokenUnverifiable => "agent_token_unverifiable",
            Self::AgentTokenMalformed => "agent_token_malformed",
            Self::AgentTokenWrongAudience => "agent_token_wrong_audience",
            Self::AgentTokenInvalidSignature => "agent_token_invalid_signature",
            Self::AgentTokenExpired => "agent_token_expired",
            Self::AgentTokenAgentMismatch => "agent_token_agent_mismatch",
            Self::AgentTokenRequired => "agent_token_required",
            Self::AgentKeyNotFound => "agent_key_not_found",
            Self::InsufficientKeyTier => "insufficient_key_tier",
            Self::MemberCredentialRequired => "member_credential_required",
            Self::EscalationWrongMember => "escalation_wrong_member",
            Self::ResolvedByMismatch => "resolved_by_mismatch",
            Self::NotFound => "not_found",
            Self::AuthorizationNotFound => "authorization_not_found",
            Self::ConfirmationNotFound => "confirmation_not_found",
            Self::ReceiptNotFound => "receipt_not_found",
            Self::WorkspaceNotFound => "workspace_not_found",
            Self::ApiKeyNotFound => "api_key_not_found",
            Self::WebhookNotFound => "webhook_not_found",
            Self::ResolutionWebhookNotConfigured => "resolution_webhook_not_configured",
            Self::PolicyNotFound => "policy_not_found",
            Self::EscalationNotFound => "escalation_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::AlreadySettled => "already_settled",
            Self::LastSetupKey => "last_setup_key",
            Self::PolicyVersionConflict => "policy_version_conflict",
            Self::PolicyArchived => "policy_archived",
            Self::Conflict => "conflict",
            Self::EscalationNotPending => "escalation_not_pending",
            Self::EscalationExpired => "escalation_expired",
            Self::ConfirmationExpired => "confirmation_expired",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationError => "validation_error",
            Self::UnknownField => "unknown_field",
            Self::BudgetEstimateRequired => "budget_estimate_required",
            Self::BudgetSingleScope => "budget_single_scope",
            Self::NotBudgeted => "not_budgeted",
            Self::RateLimited => "rate_limited",
            Self::NotSupported => "not_supported",
            Self::Unavailable => "unavailable",
            Self::Overloaded => "overloaded",
        }
    }

    /// The status this code is answered with by [`ApiError::new`](super::ApiError::new). A field error
    /// ([`ApiError::field`](super::ApiError::field)) is always 422, whatever its code: `replaces` naming an unknown
    /// authorization is a bad field, not a missing route.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::MalformedJson | Self::MalformedRequest => StatusCode::BAD_REQUEST,
            Self::InvalidApiKey
            | Self::AgentTokenUnverifiable
            | Self::AgentTokenMalformed
            | Self::AgentTokenWrongAudience
            | Self::AgentTokenInvalidSignature
            | Self::AgentTokenExpired
            | Self::AgentTokenAgentMismatch
            | Self::AgentTokenRequired => StatusCode::UNAUTHORIZED,
            Self::InsufficientKeyTier
            | Self::MemberCredentialRequired
            | Self::EscalationWrongMember
            | Self::ResolvedByMismatch => StatusCode::FORBIDDEN,
            Self::NotFound
            | Self::AuthorizationNotFound
            | Self::ConfirmationNotFound
            | Self::ReceiptNotFound
            | Self::WorkspaceNotFound
            | Self::ApiKeyNotFound
            | Self::WebhookNotFound
            | Self::ResolutionWebhookNotConfigured
            | Self::PolicyNotFound
            | Self::EscalationNotFound
            | Self::AgentKeyNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::IdempotencyConflict
            | Self::AlreadySettled
            | Self::LastSetupKey
            | Self::PolicyVersionConflict
            | Self::PolicyArchived
            | Self::Conflict
            | Self::EscalationNotPending => StatusCode::CONFLICT,
            Self::ConfirmationExpired | Self::EscalationExpired => StatusCode::GONE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ValidationError
            | Self::UnknownField
            | Self::BudgetEstimateRequired
            | Self::BudgetSingleScope
            | Self::NotBudgeted => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::NotSupported => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code for an error produced below our handlers (axum's rejections, the timeout layer), which arrives with
    /// a status only. The status itself is kept as it was.
    pub fn for_bare_status(status: StatusCode) -> Self {
        match status.as_u16() {
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            408 => Self::RequestTimeout,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            500.. => Self::Unavailable,
            _ => Self::MalformedRequest,
        }
    }
}

impl fmt::Display for WireCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and the fuzz checks compare a code with its wire spelling directly.
impl PartialEq<&str> for WireCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_and_answered_with_an_error_status() {
        let spellings: HashSet<&str> = WireCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(spellings.len(), WireCode::ALL.len(), "two codes share a spelling");
        for code in WireCode::ALL {
            let s = code.as_str();
            assert!(!s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
            assert!(code.status().is_client_error() || code.status().is_server_error(), "{s}");
            assert_eq!(code.to_string(), s);
        }
        for code in WireCode::ALL.iter().filter(|c| c.as_str().ends_with("_not_found")) {
            assert_eq!(code.status(), StatusCode::NOT_FOUND, "{code}");
        }
    }

    #[test]
    fn bare_statuses_keep_their_historical_codes() {
        let code = |s: u16| WireCode::for_bare_status(StatusCode::from_u16(s).expect("status")).as_str();
        assert_eq!(
            [code(400), code(404), code(405), code(408), code(413), code(415), code(500), code(503)],
            [
                "malformed_request",
                "not_found",
                "method_not_allowed",
                "request_timeout",
                "payload_too_large",
                "unsupported_media_type",
                "unavailable",
                "unavailable"
            ]
        );
    }
}
