//! Bodies of webhook events: the payload stored in `webhook_deliveries`, signed and sent by `crate::webhooks`.
//! Fields are declared in sorted order of their wire names, like the response bodies (see the module above): the
//! `json!` payloads these replaced went out sorted, and receivers may verify signatures over the exact bytes.
//! `data` holds ids, scope and reason only — never check context values (wire-v1).

use serde::Serialize;

/// `{"data", "id", "timestamp", "type", "workspace_id"}`: the same envelope as a resolution event, so one
/// `verify_webhook` checks the id and the workspace of both webhooks' events.
#[derive(Debug, Serialize)]
pub struct WebhookEvent<'a, T> {
    pub data: T,
    pub id: &'a str,
    pub timestamp: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub workspace_id: &'a str,
}

/// `confirmation.created`: a check asked for the user's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmationCreated {
    pub agent_id: String,
    pub authorization_id: String,
    pub check_receipt_id: String,
    pub confirm_expires_at: String,
    pub confirmation_id: String,
    pub reason: &'static str,
    pub scope: String,
    pub user_id: String,
}

/// `confirmation.resolved`: the user approved or rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmationResolved {
    pub agent_id: String,
    pub authorization_id: String,
    pub confirmation_id: String,
    pub decision: &'static str,
    pub reason: &'static str,
    pub receipt_id: String,
    pub scope: String,
    pub user_id: String,
}

/// `confirmation.expired`: nobody answered in time (sent once, with the expiry's receipt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmationExpired {
    pub agent_id: String,
    pub authorization_id: String,
    pub check_receipt_id: String,
    pub confirm_expires_at: String,
    pub confirmation_id: String,
    pub reason: &'static str,
    pub receipt_id: String,
    pub scope: String,
    pub user_id: String,
}

/// `escalation.created`: a check of a policy edition was escalated to a named member (`member:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationCreated {
    pub agent_id: String,
    pub authorization_id: String,
    pub check_receipt_id: String,
    pub escalation_expires_at: String,
    pub escalation_id: String,
    pub escalation_to: String,
    /// 1: a new escalation waits on its first level.
    pub level: i64,
    /// 1 or 2.
    pub levels: i64,
    pub reason: &'static str,
    pub scope: String,
    pub user_id: String,
}

/// `escalation.resolved`: an escalation's final resolution (approved at its last level, or rejected at any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationResolvedEvent {
    pub agent_id: String,
    pub authorization_id: String,
    pub check_receipt_id: String,
    pub escalation_id: String,
    pub level: i64,
    pub levels: i64,
    pub receipt_id: String,
    pub resolved_by: String,
    pub scope: String,
    /// `approved` or `rejected`.
    pub status: &'static str,
    pub user_id: String,
}

/// `escalation.expired`: a pending escalation nobody resolved in time (sent once, with its expiry receipt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationExpiredEvent {
    pub agent_id: String,
    pub authorization_id: String,
    pub check_receipt_id: String,
    pub escalation_expires_at: String,
    pub escalation_id: String,
    pub escalation_to: String,
    pub level: i64,
    pub reason: &'static str,
    pub receipt_id: String,
    pub scope: String,
    pub user_id: String,
}

/// `authorization.revoked`, with the pending confirmations the revoke cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorizationRevoked {
    pub agent_id: String,
    pub authorization_id: String,
    pub reason: &'static str,
    pub receipt_id: String,
    pub revoked_confirmations: Vec<String>,
    pub user_id: String,
}

/// A resolution webhook event, exactly the shape 0.8.0's `verify_resolution_webhook` accepts:
/// `{"data", "id", "timestamp", "type", "workspace_id"}` with `id` equal to the `webhook-id` header.
#[derive(Debug, Serialize)]
pub struct ResolutionEvent<'a> {
    pub data: ResolutionEventData,
    pub id: &'a str,
    pub timestamp: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub workspace_id: &'a str,
}

/// `data` of a resolution event: which prompt (`cnf_…` / `esc_…`) was resolved how, the receipt of the check that
/// asked (`source_receipt_id`) and the receipt of the resolution. Ids only: no user, agent, resource or context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolutionEventData {
    pub prompt_id: String,
    pub resolution_receipt_id: String,
    pub source_receipt_id: Option<String>,
    /// `approved` or `rejected`.
    pub status: &'static str,
}
