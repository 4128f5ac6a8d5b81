//! The escalation step of a check: a check of an escalating scope first looks for an escalation of the very same
//! call (`escalations::for_call`). A final resolution is used up by this check (allow `escalation_approved` / deny
//! `escalation_rejected`, once); a pending one is answered again as it stands (same id, no new row, no new event);
//! otherwise a new escalation is opened to the level-1 member, with its `escalation.created` event.

use crate::decide::EscalationAnswer;
use crate::error::ApiError;
use crate::store::Tx;
use crate::store::authorizations::AuthRow;
use crate::store::confirmations::CallKey;
use crate::store::escalations::{self, NewEscalation};
use crate::store::webhooks;
use crate::util;
use crate::wire::{EscalationBlock, EscalationCreated};
use allowly_core::model::Reason;

/// What the evaluation asks for: the members (level 1 first), the escalate reason, and when a new escalation
/// would expire (the authorization's confirmation timeout from now).
pub(super) struct Ask<'a> {
    pub targets: &'a [String],
    pub reason: Reason,
    pub expires_at: String,
}

/// Inherits the call's escalation or opens one. Returns the result's `escalation` block (while it waits on a
/// member) and what was inherited.
pub(super) async fn inherit_or_open(
    tx: &mut Tx,
    auth: &AuthRow,
    call: &CallKey<'_>,
    ask: &Ask<'_>,
    now: &str,
    receipt_id: &str,
) -> Result<(Option<EscalationBlock>, EscalationAnswer), ApiError> {
    if let Some(e) = escalations::for_call(tx, call, now).await? {
        match e.status.as_str() {
            "pending" => {
                let block = EscalationBlock {
                    escalation_id: e.id.clone(),
                    escalation_to: e.target.clone(),
                    expires_at: e.expires_at.clone(),
                    status: "pending",
                };
                return Ok((Some(block), EscalationAnswer::Pending { escalation_id: e.id }));
            }
            // Within this transaction nobody else can use it first; if it were, the call asks again below.
            status if escalations::consume(tx, &e.id, receipt_id, now).await? => {
                let escalation_id = e.id;
                let answer = if status == "approved" {
                    EscalationAnswer::Approved { escalation_id }
                } else {
                    EscalationAnswer::Rejected { escalation_id }
                };
                return Ok((None, answer));
            }
            _ => {}
        }
    }
    let block = open(tx, auth, call, ask, now, receipt_id).await?;
    Ok((Some(block), EscalationAnswer::None))
}

/// Stores a new escalation to the level-1 member, pending until resolved or expired, and its `escalation.created`
/// event.
async fn open(
    tx: &mut Tx,
    auth: &AuthRow,
    call: &CallKey<'_>,
    ask: &Ask<'_>,
    now: &str,
    receipt_id: &str,
) -> Result<EscalationBlock, ApiError> {
    let first = ask.targets.first().cloned().unwrap_or_default();
    let block = EscalationBlock {
        escalation_id: util::new_id("esc"),
        escalation_to: first.clone(),
        expires_at: ask.expires_at.clone(),
        status: "pending",
    };
    let row = NewEscalation {
        id: &block.escalation_id,
        workspace_id: &auth.workspace_id,
        authorization_id: &auth.id,
        action: call.scope,
        resource: call.resource,
        targets: ask.targets,
        now,
        expires_at: &block.expires_at,
        check_receipt_id: receipt_id,
        session_id: call.session_id,
        arguments_sha256: call.arguments_sha256,
        reason: ask.reason.as_str(),
    };
    escalations::create(tx, &row).await?;
    let event = EscalationCreated {
        agent_id: auth.agent_id.clone(),
        authorization_id: auth.id.clone(),
        check_receipt_id: receipt_id.to_owned(),
        escalation_expires_at: block.expires_at.clone(),
        escalation_id: block.escalation_id.clone(),
        escalation_to: first,
        level: 1,
        levels: ask.targets.len() as i64,
        reason: ask.reason.as_str(),
        scope: call.scope.to_owned(),
        user_id: auth.user_id.clone(),
    };
    webhooks::enqueue(tx, &auth.workspace_id, webhooks::ESCALATION_CREATED, event).await?;
    Ok(block)
}
