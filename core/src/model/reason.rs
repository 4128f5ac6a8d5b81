//! Reason codes of check results (wire-v1 "Evaluation order"), plus the client-side fallback reasons.
//!
//! [`Reason`] is the one list: the server decides with it, the client's fallback builds its results from it, and the
//! bindings' reason lists are checked against [`Reason::ALL`]. On the client side a result still carries its reason as
//! a `String` ([`ScopeResult::reason`](super::ScopeResult::reason)), because a newer server may add reasons and an
//! unknown reason must reach the caller instead of failing the parse; [`Reason::parse`] reads the known ones. The
//! string constants below stay for callers that branch on strings, and are spelled by the enum so they cannot drift.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::check::Decision;

/// Why a scope got its decision. Each reason belongs to exactly one decision ([`Reason::decision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// allow: the scope is granted and nothing else applied.
    ScopeGranted,
    /// allow: an approval for this scope (and resource) was consumed.
    UserConfirmed,
    /// confirm: the user must approve first (`confirm_nonce` is set).
    ScopeRequiresUserConfirmation,
    /// deny: the user rejected this scope recently.
    UserRejected,
    /// allow: the members named for this scope approved this very call (every level), and the approval is used here.
    EscalationApproved,
    /// escalate: the authorization sends this scope to a named member first (`escalation_id` is set).
    ScopeRequiresEscalation,
    /// deny: a member named for this scope rejected this very call.
    EscalationRejected,
    AuthorizationNotFound,
    AuthorizationRevoked,
    AuthorizationExpired,
    ScopeNotInAuthorization,
    DenyConditionMatched,
    ResourceNotPermitted,
    RateLimitExceeded,
    BudgetExceeded,
    /// allow: the authorization's policy edition allows the action.
    PolicyAllowed,
    /// confirm: the policy edition asks the agent's owner to approve first (`confirm_nonce` is set).
    PolicyRequiresConfirmation,
    /// escalate: the policy edition sends the action to a named member (`escalation_id` is set).
    PolicyRequiresEscalation,
    /// deny: the policy edition denies the action.
    PolicyDenied,
    /// deny: the edition's `allowed_initiators` guard does not name the check's `context.initiator`.
    InitiatorNotAllowed,
    /// Client-side deny: the server could not be reached (or failed with 5xx).
    FallbackClosedUnreachable,
    /// Client-side deny: the server did not answer within `check_timeout`.
    FallbackClosedTimeout,
    /// Client-side allow for a scope configured fail-open: the server could not be reached.
    FallbackOpenUnreachable,
    /// Client-side allow for a scope configured fail-open: the server did not answer in time.
    FallbackOpenTimeout,
}

impl Reason {
    /// Every reason, in wire-v1's evaluation order then the fallbacks, so tests can prove each one is handled.
    pub const ALL: [Reason; 24] = [
        Self::ScopeGranted,
        Self::UserConfirmed,
        Self::ScopeRequiresUserConfirmation,
        Self::UserRejected,
        Self::EscalationApproved,
        Self::ScopeRequiresEscalation,
        Self::EscalationRejected,
        Self::AuthorizationNotFound,
        Self::AuthorizationRevoked,
        Self::AuthorizationExpired,
        Self::ScopeNotInAuthorization,
        Self::DenyConditionMatched,
        Self::ResourceNotPermitted,
        Self::RateLimitExceeded,
        Self::BudgetExceeded,
        Self::PolicyAllowed,
        Self::PolicyRequiresConfirmation,
        Self::PolicyRequiresEscalation,
        Self::PolicyDenied,
        Self::InitiatorNotAllowed,
        Self::FallbackClosedUnreachable,
        Self::FallbackClosedTimeout,
        Self::FallbackOpenUnreachable,
        Self::FallbackOpenTimeout,
    ];

    /// The wire spelling (the `reason` member of a check result and of its receipt).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ScopeGranted => "scope_granted",
            Self::UserConfirmed => "user_confirmed",
            Self::ScopeRequiresUserConfirmation => "scope_requires_user_confirmation",
            Self::UserRejected => "user_rejected",
            Self::EscalationApproved => "escalation_approved",
            Self::ScopeRequiresEscalation => "scope_requires_escalation",
            Self::EscalationRejected => "escalation_rejected",
            Self::AuthorizationNotFound => "authorization_not_found",
            Self::AuthorizationRevoked => "authorization_revoked",
            Self::AuthorizationExpired => "authorization_expired",
            Self::ScopeNotInAuthorization => "scope_not_in_authorization",
            Self::DenyConditionMatched => "deny_condition_matched",
            Self::ResourceNotPermitted => "resource_not_permitted",
            Self::RateLimitExceeded => "rate_limit_exceeded",
            Self::BudgetExceeded => "budget_exceeded",
            Self::PolicyAllowed => "policy_allowed",
            Self::PolicyRequiresConfirmation => "policy_requires_confirmation",
            Self::PolicyRequiresEscalation => "policy_requires_escalation",
            Self::PolicyDenied => "policy_denied",
            Self::InitiatorNotAllowed => "initiator_not_allowed",
            Self::FallbackClosedUnreachable => "fallback_closed_unreachable",
            Self::FallbackClosedTimeout => "fallback_closed_timeout",
            Self::FallbackOpenUnreachable => "fallback_open_unreachable",
            Self::FallbackOpenTimeout => "fallback_open_timeout",
        }
    }

    /// The decision this reason explains. A result pairing a reason with another decision is a bug, so whoever
    /// decides names the reason and takes the decision from here.
    pub const fn decision(self) -> Decision {
        match self {
            Self::ScopeGranted
            | Self::UserConfirmed
            | Self::EscalationApproved
            | Self::PolicyAllowed
            | Self::FallbackOpenUnreachable
            | Self::FallbackOpenTimeout => Decision::Allow,
            Self::ScopeRequiresUserConfirmation | Self::PolicyRequiresConfirmation => Decision::Confirm,
            Self::ScopeRequiresEscalation | Self::PolicyRequiresEscalation => Decision::Escalate,
            Self::UserRejected
            | Self::EscalationRejected
            | Self::AuthorizationNotFound
            | Self::AuthorizationRevoked
            | Self::AuthorizationExpired
            | Self::ScopeNotInAuthorization
            | Self::DenyConditionMatched
            | Self::ResourceNotPermitted
            | Self::RateLimitExceeded
            | Self::BudgetExceeded
            | Self::PolicyDenied
            | Self::InitiatorNotAllowed
            | Self::FallbackClosedUnreachable
            | Self::FallbackClosedTimeout => Decision::Deny,
        }
    }

    /// True for the reasons the client makes up when the server is unreachable or too slow.
    pub const fn is_fallback(self) -> bool {
        matches!(
            self,
            Self::FallbackClosedUnreachable
                | Self::FallbackClosedTimeout
                | Self::FallbackOpenUnreachable
                | Self::FallbackOpenTimeout
        )
    }

    /// The reason with this wire spelling; `None` for a reason this version does not know (a newer server's).
    pub fn parse(code: &str) -> Option<Reason> {
        Self::ALL.into_iter().find(|r| r.as_str() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code is not one of [`Reason::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reason code `{0}`")]
pub struct UnknownReason(pub String);

impl FromStr for Reason {
    type Err = UnknownReason;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Reason::parse(code).ok_or_else(|| UnknownReason(code.to_owned()))
    }
}

/// allow: the scope is granted and nothing else applied.
pub const SCOPE_GRANTED: &str = Reason::ScopeGranted.as_str();
/// allow: an approval for this scope (and resource) was consumed.
pub const USER_CONFIRMED: &str = Reason::UserConfirmed.as_str();
/// confirm: the user must approve first (`confirm_nonce` is set).
pub const SCOPE_REQUIRES_USER_CONFIRMATION: &str = Reason::ScopeRequiresUserConfirmation.as_str();
/// deny: the user rejected this scope recently.
pub const USER_REJECTED: &str = Reason::UserRejected.as_str();
/// allow: the named members approved this very call, and the approval is used here.
pub const ESCALATION_APPROVED: &str = Reason::EscalationApproved.as_str();
/// escalate: the authorization sends this scope to a named member first.
pub const SCOPE_REQUIRES_ESCALATION: &str = Reason::ScopeRequiresEscalation.as_str();
/// deny: a named member rejected this very call.
pub const ESCALATION_REJECTED: &str = Reason::EscalationRejected.as_str();
pub const AUTHORIZATION_NOT_FOUND: &str = Reason::AuthorizationNotFound.as_str();
pub const AUTHORIZATION_REVOKED: &str = Reason::AuthorizationRevoked.as_str();
pub const AUTHORIZATION_EXPIRED: &str = Reason::AuthorizationExpired.as_str();
pub const SCOPE_NOT_IN_AUTHORIZATION: &str = Reason::ScopeNotInAuthorization.as_str();
pub const DENY_CONDITION_MATCHED: &str = Reason::DenyConditionMatched.as_str();
pub const RESOURCE_NOT_PERMITTED: &str = Reason::ResourceNotPermitted.as_str();
pub const RATE_LIMIT_EXCEEDED: &str = Reason::RateLimitExceeded.as_str();
pub const BUDGET_EXCEEDED: &str = Reason::BudgetExceeded.as_str();
/// allow: the authorization's policy edition allows the action.
pub const POLICY_ALLOWED: &str = Reason::PolicyAllowed.as_str();
/// confirm: the policy edition asks the agent's owner to approve first.
pub const POLICY_REQUIRES_CONFIRMATION: &str = Reason::PolicyRequiresConfirmation.as_str();
/// escalate: the policy edition sends the action to a named member.
pub const POLICY_REQUIRES_ESCALATION: &str = Reason::PolicyRequiresEscalation.as_str();
/// deny: the policy edition denies the action.
pub const POLICY_DENIED: &str = Reason::PolicyDenied.as_str();
/// deny: the edition's `allowed_initiators` guard does not name the check's initiator.
pub const INITIATOR_NOT_ALLOWED: &str = Reason::InitiatorNotAllowed.as_str();
/// Client-side deny: the server could not be reached (or failed with 5xx).
pub const FALLBACK_CLOSED_UNREACHABLE: &str = Reason::FallbackClosedUnreachable.as_str();
/// Client-side deny: the server did not answer within `check_timeout`.
pub const FALLBACK_CLOSED_TIMEOUT: &str = Reason::FallbackClosedTimeout.as_str();
/// Client-side allow for a scope configured fail-open: the server could not be reached.
pub const FALLBACK_OPEN_UNREACHABLE: &str = Reason::FallbackOpenUnreachable.as_str();
/// Client-side allow for a scope configured fail-open: the server did not answer in time.
pub const FALLBACK_OPEN_TIMEOUT: &str = Reason::FallbackOpenTimeout.as_str();

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_reason_has_one_spelling_that_parses_back_and_serializes_the_same() {
        let spellings: HashSet<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(spellings.len(), Reason::ALL.len(), "two reasons share a spelling");
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
            assert_eq!(r.as_str().parse::<Reason>(), Ok(r));
            assert_eq!(serde_json::to_value(r).expect("serializes"), serde_json::json!(r.as_str()));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(Reason::parse("escalation_required"), None);
        assert!("nope".parse::<Reason>().is_err());
    }

    #[test]
    fn decisions_follow_the_evaluation_order_and_fallbacks_are_marked() {
        let allow: Vec<Reason> = Reason::ALL.into_iter().filter(|r| r.decision() == Decision::Allow).collect();
        assert_eq!(
            allow,
            [
                Reason::ScopeGranted,
                Reason::UserConfirmed,
                Reason::EscalationApproved,
                Reason::PolicyAllowed,
                Reason::FallbackOpenUnreachable,
                Reason::FallbackOpenTimeout
            ]
        );
        let confirm: Vec<Reason> = Reason::ALL.into_iter().filter(|r| r.decision() == Decision::Confirm).collect();
        assert_eq!(confirm, [Reason::ScopeRequiresUserConfirmation, Reason::PolicyRequiresConfirmation]);
        let escalate: Vec<Reason> = Reason::ALL.into_iter().filter(|r| r.decision() == Decision::Escalate).collect();
        assert_eq!(escalate, [Reason::ScopeRequiresEscalation, Reason::PolicyRequiresEscalation]);
        assert_eq!(Reason::ALL.iter().filter(|r| r.is_fallback()).count(), 4);
        assert!(Reason::ALL.iter().filter(|r| r.is_fallback()).all(|r| r.as_str().starts_with("fallback_")));
    }
}
