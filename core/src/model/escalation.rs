//! Escalations: a decision sent to a workspace member (`escalate`), read back by id.

use serde::{Deserialize, Serialize};

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
    /// The member it was sent to (`member:<id>`).
    #[serde(default)]
    pub escalation_to: Option<String>,
}
