//! What an escalation's steps record, whichever way they end: the `escalation.resolve` receipt of a level's
//! resolution or of the expiry, the expiry itself (receipted exactly once, by the sweep or by whatever request meets
//! the escalation first), and the monitor view. Shared by the resolve route, the status route, the check that
//! inherits an escalation, and `expiry.rs`.

use serde_json::{Map, Value, json};

use crate::store::authorizations::{self as auth_db, AuthRow};
use crate::store::escalations::{self as db, EscalationRow, StepRow};
use crate::store::receipts::{self, Draft, Event, Kind};
use crate::store::{Tx, webhooks};
use crate::util;
use crate::wire::{EscalationExpiredEvent, EscalationMonitor, EscalationStepBody};

/// The event receipt of one step of an escalation (a level approved or rejected, or the expiry): one shape, so a
/// resolution and an expiry can never describe an escalation differently. `extra` joins the context.
pub fn receipt(
    receipt_id: String,
    row: &EscalationRow,
    auth: &AuthRow,
    now: &str,
    event: Event,
    extra: impl IntoIterator<Item = (&'static str, Value)>,
) -> Draft {
    let mut context = Map::new();
    context.insert("escalation_id".into(), json!(row.id));
    context.insert("scope".into(), json!(row.action));
    context.insert("check_receipt_id".into(), json!(row.check_receipt_id));
    context.insert("levels".into(), json!(row.levels));
    for (name, value) in extra {
        context.insert(name.into(), value);
    }
    Draft {
        receipt_id,
        workspace_id: row.workspace_id.clone(),
        issued_at: now.to_owned(),
        user_id: auth.user_id.clone(),
        agent_id: auth.agent_id.clone(),
        kind: Kind::Event(event),
        resource: row.resource.clone(),
        context,
        authorization_id: Some(auth.id.clone()),
        engine_version: crate::engine_version().into(),
        policy_eval: None,
        policy_ref: auth.policy.clone(),
    }
}

/// Expires `row` if it is still pending and its time ran out at `now`: its `escalation.resolve` receipt (reason
/// `escalation_expired`) and the generic `escalation.expired` event, in `tx`. Returns the receipt id for the one
/// caller that expired it, `None` for every other (already resolved, already expired, not due yet).
pub async fn expire(tx: &mut Tx, row: &EscalationRow, now: &str) -> Result<Option<String>, sqlx::Error> {
    if row.status != "pending" || row.expires_at.as_str() > now {
        return Ok(None);
    }
    let receipt_id = util::new_id("rcp");
    if !db::mark_expired(tx, &row.id, now, &receipt_id).await? {
        return Ok(None);
    }
    let Some(auth) = auth_db::get(tx, &row.workspace_id, &row.authorization_id).await? else {
        return Err(sqlx::Error::RowNotFound);
    };
    let extra = [
        ("level", json!(row.level)),
        ("escalation_to", json!(row.target)),
        ("escalation_expires_at", json!(row.expires_at)),
    ];
    let draft = receipt(receipt_id.clone(), row, &auth, now, Event::EscalationExpired, extra);
    receipts::insert(tx, &draft).await?;
    let event = EscalationExpiredEvent {
        agent_id: auth.agent_id.clone(),
        authorization_id: auth.id.clone(),
        check_receipt_id: row.check_receipt_id.clone(),
        escalation_expires_at: row.expires_at.clone(),
        escalation_id: row.id.clone(),
        escalation_to: row.target.clone(),
        level: row.level,
        reason: receipts::ESCALATION_EXPIRED_REASON,
        receipt_id: receipt_id.clone(),
        scope: row.action.clone(),
        user_id: auth.user_id.clone(),
    };
    webhooks::enqueue(tx, &row.workspace_id, webhooks::ESCALATION_EXPIRED, event).await?;
    Ok(Some(receipt_id))
}

/// The monitor view of an escalation at `now`. `auth` is its authorization (`None` if gone).
pub fn monitor(e: &EscalationRow, steps: &[StepRow], auth: Option<&AuthRow>, now: &str) -> EscalationMonitor {
    let status = e.effective_status(now).to_owned();
    let authority = match status.as_str() {
        "approved" if e.consumed_receipt_id.is_some() => "consumed",
        "approved" => match auth.map(|a| a.state(now)) {
            None | Some(crate::policy::AuthState::Revoked) => "revoked",
            Some(crate::policy::AuthState::Expired) => "expired",
            Some(crate::policy::AuthState::Active) => "available",
        },
        _ => "none",
    };
    let resolved = matches!(e.status.as_str(), "approved" | "rejected");
    EscalationMonitor {
        action: e.action.clone(),
        authority_status: authority,
        authorization_id: e.authorization_id.clone(),
        consumed_at: if authority == "consumed" { e.consumed_at.clone() } else { None },
        escalation_id: e.id.clone(),
        escalation_to: e.target.clone(),
        expires_at: e.expires_at.clone(),
        level: e.level,
        levels: e.levels,
        resolution_receipt_id: e.resolve_receipt_id.clone().or_else(|| e.expire_receipt_id.clone()),
        resolved_at: if resolved { e.resolved_at.clone() } else { None },
        resolved_by: if resolved { e.resolved_by.clone() } else { None },
        resource: e.resource.clone(),
        source_receipt_id: Some(e.check_receipt_id.clone()),
        status,
        steps: steps
            .iter()
            .map(|s| EscalationStepBody {
                level: s.level,
                receipt_id: s.receipt_id.clone(),
                resolution: s.resolution.clone(),
                resolved_at: s.resolved_at.clone(),
                resolved_by: s.resolved_by.clone(),
            })
            .collect(),
    }
}
