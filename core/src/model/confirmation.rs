//! Confirmations: the user's answer to a `confirm` decision (`POST /v1/confirmations/{nonce}`) and its state
//! (`GET /v1/confirmations/{confirmation_id}`).
//!
//! The nonce approves; the confirmation id only observes. That split lets a UI that never saw the nonce wait for a
//! decision made elsewhere.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::receipt::ReceiptEnvelope;

/// Body of `POST /v1/confirmations/{confirm_nonce}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApproveConfirmationRequest {
    pub approved: bool,
    /// How long the approval (or rejection) stays usable; the server clamps it to 60 s … 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// The outcome recorded by an approve call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationDecision {
    Approved,
    /// The rejection, on authorizations created from scopes (the 0.3.1 word).
    DeniedByUser,
    /// The rejection, on authorizations granted from a policy edition (the 0.8.0 word).
    NotApproved,
}

impl ConfirmationDecision {
    /// The decision an approve call records.
    pub fn from_approved(approved: bool) -> ConfirmationDecision {
        if approved { ConfirmationDecision::Approved } else { ConfirmationDecision::DeniedByUser }
    }

    /// The confirmation's status right after this decision.
    pub fn status(self) -> ConfirmationStatus {
        match self {
            ConfirmationDecision::Approved => ConfirmationStatus::Approved,
            ConfirmationDecision::DeniedByUser | ConfirmationDecision::NotApproved => ConfirmationStatus::DeniedByUser,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationDecision::Approved => "approved",
            ConfirmationDecision::DeniedByUser => "denied_by_user",
            ConfirmationDecision::NotApproved => "not_approved",
        }
    }
}

impl fmt::Display for ConfirmationDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Response of `POST /v1/confirmations/{confirm_nonce}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfirmationResolution {
    pub decision: ConfirmationDecision,
    pub confirmation_id: String,
    /// Absent when the decision is `denied_by_user`.
    #[serde(default)]
    pub authorization_id: Option<String>,
    /// Until when the approval can be consumed by a re-check; absent when denied.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The `confirmation.resolve` event receipt.
    pub receipt: ReceiptEnvelope,
}

/// State of a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationStatus {
    /// Nobody answered yet.
    Pending,
    /// Approved; a re-check will consume it.
    Approved,
    DeniedByUser,
    /// Nobody answered in time, or the approval's TTL ran out.
    Expired,
    /// Approved and already used by a check.
    Consumed,
}

impl ConfirmationStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ConfirmationStatus; 5] = [
        ConfirmationStatus::Pending,
        ConfirmationStatus::Approved,
        ConfirmationStatus::DeniedByUser,
        ConfirmationStatus::Expired,
        ConfirmationStatus::Consumed,
    ];

    /// The status named by its wire string; `None` for anything else.
    pub fn parse(name: &str) -> Option<ConfirmationStatus> {
        ConfirmationStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationStatus::Pending => "pending",
            ConfirmationStatus::Approved => "approved",
            ConfirmationStatus::DeniedByUser => "denied_by_user",
            ConfirmationStatus::Expired => "expired",
            ConfirmationStatus::Consumed => "consumed",
        }
    }

    /// True once the confirmation no longer waits for an answer.
    pub fn is_resolved(self) -> bool {
        self != ConfirmationStatus::Pending
    }
}

impl fmt::Display for ConfirmationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Response of `GET /v1/confirmations/{confirmation_id}`. Lenient: only the id and the status are required, and the
/// nonce is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    pub confirmation_id: String,
    pub status: ConfirmationStatus,
    #[serde(default)]
    pub authorization_id: Option<String>,
    #[serde(default, alias = "action")]
    pub scope: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub resolved_at: Option<String>,
    /// Whether the approval can still be used: `none`, `available`, `expired` or `revoked`, as in the monitor view
    /// ([`ConfirmationMonitor`]); absent from servers that do not report it. Code written for the official 0.8.0
    /// SDK reads it from `confirmations.get`.
    #[serde(default)]
    pub authority_status: Option<String>,
}

/// Response of `GET /v1/confirmations/{confirmation_id}/status`, the monitor view the official 0.8.0 SDK reads
/// (`confirmations.get_status`). Its statuses are 0.8.0's words, kept as strings so a newer server's pass through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationMonitor {
    pub confirmation_id: String,
    pub authorization_id: String,
    pub action: String,
    #[serde(default)]
    pub resource: Option<String>,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    /// The nonce's expiry while pending, the decision's once resolved.
    pub expires_at: String,
    #[serde(default)]
    pub resolved_at: Option<String>,
    /// The check receipt that asked.
    #[serde(default)]
    pub source_receipt_id: Option<String>,
    /// The `confirmation.resolve` receipt.
    #[serde(default)]
    pub resolution_receipt_id: Option<String>,
    /// `none`, `available`, `expired` or `revoked`: whether the approval can still be used.
    pub authority_status: String,
    /// The authorization that carries the approval while it is usable.
    #[serde(default)]
    pub child_authorization_id: Option<String>,
    #[serde(default)]
    pub authority_expires_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_parses_from_its_wire_name_and_nothing_else_does() {
        for status in ConfirmationStatus::ALL {
            assert_eq!(ConfirmationStatus::parse(status.as_str()), Some(status));
            let wire = serde_json::to_value(status).expect("serializes");
            assert_eq!(wire, status.as_str(), "as_str and serde agree");
        }
        assert_eq!(ConfirmationStatus::parse("Approved"), None);
        assert_eq!(ConfirmationStatus::parse("denied"), None);
    }

    #[test]
    fn a_decision_names_the_status_it_leaves_behind() {
        assert_eq!(ConfirmationDecision::from_approved(true).status(), ConfirmationStatus::Approved);
        assert_eq!(ConfirmationDecision::from_approved(false).status(), ConfirmationStatus::DeniedByUser);
        assert_eq!(ConfirmationDecision::from_approved(false).as_str(), "denied_by_user");
    }
}
