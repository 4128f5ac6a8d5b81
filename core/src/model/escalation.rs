//! Escalations: a decision sent to a workspace member (`escalate`), read back by id.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::receipt::ReceiptEnvelope;
use crate::error::{Error, Result};

/// Response of `GET /v1/escalations/{escalation_id}`, the monitor view the official 0.8.0 SDK reads
/// (`escalations.get_status`): the recorded choice and whether its one-use grant is still usable, never permission
/// to act. Statuses are kept as strings so a newer server's words pass through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationMonitor {
    pub escalation_id: String,
    pub authorization_id: String,
    pub action: String,
    #[serde(default)]
    pub resource: Option<String>,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    /// When the escalation stops waiting for an answer.
    pub expires_at: String,
    #[serde(default)]
    pub resolved_at: Option<String>,
    /// The check receipt that escalated.
    #[serde(default)]
    pub source_receipt_id: Option<String>,
    /// The receipt of the member's answer.
    #[serde(default)]
    pub resolution_receipt_id: Option<String>,
    /// `none`, `available`, `expired`, `revoked`, `consumed` or `unknown`: whether an approval can still be used.
    pub authority_status: String,
    /// When a one-use approval was used.
    #[serde(default)]
    pub consumed_at: Option<String>,
    /// The member it waits on now (`member:<id>`): the level-2 member once level 1 approved.
    #[serde(default)]
    pub escalation_to: Option<String>,
    /// The level waiting for an answer (the last one answered once resolved).
    #[serde(default)]
    pub level: Option<u32>,
    /// How many levels the escalation has (1 or 2).
    #[serde(default)]
    pub levels: Option<u32>,
    /// `member:<id>` of the credential that gave the final answer.
    #[serde(default)]
    pub resolved_by: Option<String>,
    /// The answered levels, in order.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub steps: Vec<EscalationStep>,
}

impl EscalationMonitor {
    /// True once no member is asked any more (approved at the last level, rejected, or expired).
    pub fn is_resolved(&self) -> bool {
        self.status != "pending"
    }
}

/// A member's answer to an escalation at its current level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EscalationResolution {
    Approved,
    Rejected,
}

impl EscalationResolution {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationResolution::Approved => "approved",
            EscalationResolution::Rejected => "rejected",
        }
    }

    /// Reads the wire word; anything else is a validation error naming `resolution`.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            other => Err(Error::invalid_input(
                "resolution",
                format!("resolution must be \"approved\" or \"rejected\", not {other:?}"),
            )),
        }
    }
}

impl fmt::Display for EscalationResolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest note a member may attach to a resolution (the server keeps only its SHA-256 in the receipt).
pub const MAX_ESCALATION_NOTE: usize = 1000;

/// Body of `POST /v1/escalations/{escalation_id}/resolve`.
///
/// `resolved_by` exists because the official 0.8.0 client always sends it; the server checks it against the
/// credential and records the credential's member, so a body can never name someone else as the resolver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveEscalationRequest {
    pub resolution: EscalationResolution,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ResolveEscalationRequest {
    /// The server's bounds, checked before sending.
    pub fn validate(&self) -> Result<()> {
        if let Some(note) = &self.note {
            if note.chars().count() > MAX_ESCALATION_NOTE {
                return Err(Error::invalid_input(
                    "note",
                    format!("note must be at most {MAX_ESCALATION_NOTE} characters"),
                ));
            }
        }
        Ok(())
    }
}

/// Answer of `POST /v1/escalations/{escalation_id}/resolve`: this step's answer and where the escalation stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationResolved {
    pub escalation_id: String,
    /// This step's answer (a level-1 approval of a two-level escalation is `approved` while the escalation itself is
    /// still `pending`: read `escalation_status`).
    pub status: EscalationResolution,
    /// `member:<id>` of the credential that answered.
    #[serde(default)]
    pub resolved_by: Option<String>,
    #[serde(default)]
    pub resolved_at: Option<String>,
    /// The level this answer resolved (1 or 2).
    #[serde(default)]
    pub level: Option<u32>,
    /// How many levels the escalation has.
    #[serde(default)]
    pub levels: Option<u32>,
    /// `pending` (waiting for the next level), `approved` or `rejected`.
    #[serde(default)]
    pub escalation_status: Option<String>,
    /// The member asked now, when another level waits.
    #[serde(default)]
    pub escalation_to: Option<String>,
    /// The `escalation.resolve` receipt of this step.
    #[serde(default)]
    pub receipt: Option<ReceiptEnvelope>,
}

/// One answered level of an escalation, as the monitor lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    pub level: u32,
    /// `approved` or `rejected`.
    pub resolution: String,
    /// `member:<id>` of the credential that answered.
    pub resolved_by: String,
    pub resolved_at: String,
    #[serde(default)]
    pub receipt_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_parse_from_their_wire_words_only() {
        for r in [EscalationResolution::Approved, EscalationResolution::Rejected] {
            assert_eq!(EscalationResolution::parse(r.as_str()).unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(EscalationResolution::parse("denied").unwrap_err().kind().as_str(), "validation");
    }

    #[test]
    fn a_long_note_is_refused_before_sending() {
        let req = ResolveEscalationRequest {
            resolution: EscalationResolution::Approved,
            resolved_by: None,
            note: Some("n".repeat(MAX_ESCALATION_NOTE + 1)),
        };
        assert_eq!(req.validate().unwrap_err().kind().as_str(), "validation");
        let body = serde_json::to_value(ResolveEscalationRequest { note: None, ..req }).unwrap();
        assert_eq!(body, serde_json::json!({"resolution": "approved"}), "absent fields are not sent");
    }

    #[test]
    fn an_older_monitor_without_levels_still_reads() {
        let m: EscalationMonitor = serde_json::from_value(serde_json::json!({
            "escalation_id": "esc_1", "authorization_id": "auth_1", "action": "a", "status": "pending",
            "expires_at": "t", "authority_status": "none", "steps": null
        }))
        .unwrap();
        assert!(!m.is_resolved());
        assert!(m.steps.is_empty());
        assert_eq!(m.level, None);
    }
}
