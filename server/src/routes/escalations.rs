//! `GET /v1/escalations/{escalation_id}` (API key, or a member it is addressed to) and
//! `POST /v1/escalations/{escalation_id}/resolve` (only the member the current level waits on).
//!
//! The resolver is the credential's member, never a name from the body: `resolved_by`, which the official 0.8.0
//! client always sends, is only compared with it. Exactly one resolve per level wins (`store::escalations`); each
//! step writes its own `escalation.resolve` receipt, and the final one queues the resolution webhook
//! `escalation.resolved` and the generic event of the same name.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Body;
use crate::AppState;
use crate::auth::{EscalationReader, Member};
use crate::error::{ApiError, ApiResult, WireCode};
use crate::escalation;
use crate::idempotency::{self, IdemKey};
use crate::parse::{self, Fields};
use crate::store::authorizations as auth_db;
use crate::store::escalations::{self as db, EscalationRow, Step};
use crate::store::receipts::{self, Event};
use crate::store::{resolution_webhooks, webhooks};
use crate::util;
use crate::wire::{EscalationMonitor, EscalationResolvedEvent, ResolutionEventData};
use allowly_core::model::{EscalationResolution, ResolveEscalationRequest};

/// The body of a resolve: `(approved, resolved_by, note)`.
pub(super) struct ResolveReq {
    pub approved: bool,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
}

/// Reads allowly-core's `ResolveEscalationRequest` (its `validate` bounds the note, as every SDK does before sending).
pub(super) fn parse_resolve(body: &axum::body::Bytes) -> Result<ResolveReq, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["resolution", "resolved_by", "note"])?;
    let resolution = f.req_str("resolution");
    let approved = match resolution.as_deref().map(|r| serde_json::from_value(json!(r))) {
        Some(Ok(EscalationResolution::Approved)) => Some(true),
        Some(Ok(EscalationResolution::Rejected)) => Some(false),
        Some(Err(_)) => {
            f.error("resolution", "must be approved or rejected");
            None
        }
        None => None,
    };
    let resolved_by = f.opt_str("resolved_by");
    let note = f.opt_str("note");
    f.finish()?;
    let approved = approved.ok_or_else(|| ApiError::internal("validated field missing"))?;
    let resolution = if approved { EscalationResolution::Approved } else { EscalationResolution::Rejected };
    let req = ResolveEscalationRequest { resolution, resolved_by, note };
    if let Err(allowly_core::Error::Validation { message, .. }) = req.validate() {
        return Err(ApiError::field(WireCode::ValidationError, "note", message));
    }
    Ok(ResolveReq { approved, resolved_by: req.resolved_by, note: req.note })
}

fn not_found() -> ApiError {
    ApiError::not_found(WireCode::NotFound, "escalation")
}

pub async fn resolve(
    State(s): State<Arc<AppState>>,
    who: Member,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let req = parse_resolve(&body)?;
    let me = format!("member:{}", who.member_id);
    let ws = who.workspace_id.as_str();
    // A retry whose answer was lost gets the recorded resolution back (core's client reuses one key across retries).
    // The member is part of the fingerprint: one member's key can never replay another member's answer.
    let idem = IdemKey::from_request(&headers, "POST", &format!("/v1/escalations/{id}/resolve#{me}"), &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, ws, idem.as_ref()).await? {
        return Ok(r);
    }
    // Never addressed to this member (at any level) reads exactly like no such escalation.
    let row =
        db::get_locked(&mut tx, ws, &id).await?.filter(|e| e.addressed_to(&who.member_id)).ok_or_else(not_found)?;
    let now = util::fmt_ts(util::now());
    if row.effective_status(&now) == "expired" {
        // A late resolve meets the expiry: receipted now unless the sweep already did, and refused.
        if escalation::expire(&mut tx, &row, &now).await?.is_some() {
            tx.commit().await?;
            s.signer.kick();
            s.webhooks.kick();
        }
        return Err(ApiError::new(WireCode::EscalationExpired, "this escalation has expired"));
    }
    if row.status != "pending" {
        return Err(ApiError::new(WireCode::EscalationNotPending, "this escalation is no longer pending"));
    }
    if row.target != me {
        return Err(ApiError::new(
            WireCode::EscalationWrongMember,
            "this escalation waits on another member at its current level",
        ));
    }
    if req.resolved_by.as_deref().is_some_and(|r| r != me && r != who.member_id) {
        return Err(ApiError::new(
            WireCode::ResolvedByMismatch,
            "resolved_by must name the member whose credential resolves",
        ));
    }
    let last = !req.approved || row.level >= row.levels;
    let next_target = if last { None } else { row.targets.get(row.level as usize).map(String::as_str) };
    let receipt_id = util::new_id("rcp");
    let step = Step {
        id: &row.id,
        level: row.level,
        approved: req.approved,
        resolved_by: &me,
        now: &now,
        receipt_id: &receipt_id,
        next_target,
    };
    if !db::resolve_step(&mut tx, &step).await? {
        return Err(ApiError::new(WireCode::EscalationNotPending, "this escalation is no longer pending"));
    }
    let auth = auth_db::get(&mut tx, ws, &row.authorization_id)
        .await?
        .ok_or_else(|| ApiError::internal("escalation without authorization"))?;
    let event = if req.approved { Event::EscalationApproved } else { Event::EscalationRejected };
    let mut extra = vec![("level", json!(row.level)), ("resolved_by", json!(me))];
    if let Some(note) = &req.note {
        extra.push(("note_sha256", json!(util::sha256_hex(note.as_bytes()))));
    }
    receipts::insert(&mut tx, &escalation::receipt(receipt_id.clone(), &row, &auth, &now, event, extra)).await?;
    let status = if req.approved { "approved" } else { "rejected" };
    if last {
        final_events(&mut tx, &row, &auth, &me, &receipt_id, status).await?;
    }
    let out = crate::wire::EscalationResolveAnswer {
        escalation_id: row.id.clone(),
        escalation_status: if last { status } else { "pending" },
        escalation_to: next_target.map(str::to_owned),
        level: row.level,
        levels: row.levels,
        receipt: receipts::pending_envelope(&receipt_id),
        resolved_at: now,
        resolved_by: me,
        status,
    };
    idempotency::save(&mut tx, ws, idem.as_ref(), StatusCode::OK, &out).await?;
    tx.commit().await?;
    s.signer.kick();
    if last {
        s.webhooks.kick();
    }
    Ok(Json(out).into_response())
}

/// The events of an escalation's end: the resolution webhook (0.8.0's `escalation.resolved`, verified by
/// `verify_resolution_webhook`) and the generic webhook's event of the same name.
async fn final_events(
    tx: &mut crate::store::Tx,
    row: &EscalationRow,
    auth: &auth_db::AuthRow,
    resolved_by: &str,
    receipt_id: &str,
    status: &'static str,
) -> Result<(), sqlx::Error> {
    let data = ResolutionEventData {
        prompt_id: row.id.clone(),
        resolution_receipt_id: receipt_id.to_owned(),
        source_receipt_id: Some(row.check_receipt_id.clone()),
        status,
    };
    resolution_webhooks::enqueue(tx, &row.workspace_id, resolution_webhooks::ESCALATION_RESOLVED, data).await?;
    let event = EscalationResolvedEvent {
        agent_id: auth.agent_id.clone(),
        authorization_id: auth.id.clone(),
        check_receipt_id: row.check_receipt_id.clone(),
        escalation_id: row.id.clone(),
        level: row.level,
        levels: row.levels,
        receipt_id: receipt_id.to_owned(),
        resolved_by: resolved_by.to_owned(),
        scope: row.action.clone(),
        status,
        user_id: auth.user_id.clone(),
    };
    webhooks::enqueue(tx, &row.workspace_id, webhooks::ESCALATION_RESOLVED, event).await?;
    Ok(())
}

/// `GET /v1/escalations/{escalation_id}`, the official 0.8.0 SDK's `escalations.get_status`. A pending escalation
/// past its time is expired (and receipted) first, so a reader never sees an expiry without its receipt.
pub async fn status(
    State(s): State<Arc<AppState>>,
    who: EscalationReader,
    Path(id): Path<String>,
) -> ApiResult<Json<EscalationMonitor>> {
    let ws = who.workspace_id().to_owned();
    let missing = || match &who {
        EscalationReader::Member(_) => not_found(),
        EscalationReader::Workspace(_) => ApiError::not_found(WireCode::EscalationNotFound, "escalation"),
    };
    let mut conn = s.store.reader().acquire().await?;
    let mut e = db::get(&mut conn, &ws, &id).await?.ok_or_else(missing)?;
    drop(conn);
    if let EscalationReader::Member(m) = &who {
        if !e.addressed_to(&m.member_id) {
            return Err(missing());
        }
    }
    let now = util::fmt_ts(util::now());
    if e.status == "pending" && e.effective_status(&now) == "expired" {
        let mut tx = s.store.begin().await?;
        let fresh = db::get(&mut tx, &ws, &id).await?.ok_or_else(|| ApiError::internal("escalation vanished"))?;
        if escalation::expire(&mut tx, &fresh, &now).await?.is_some() {
            e = db::get(&mut tx, &ws, &id).await?.ok_or_else(|| ApiError::internal("escalation vanished"))?;
            tx.commit().await?;
            s.signer.kick();
            s.webhooks.kick();
        } else {
            tx.rollback().await?;
            e = fresh;
        }
    }
    let mut conn = s.store.reader().acquire().await?;
    let steps = db::steps(&mut conn, &e.id).await?;
    let auth = auth_db::get(&mut conn, &ws, &e.authorization_id).await?;
    drop(conn);
    Ok(Json(escalation::monitor(&e, &steps, auth.as_ref(), &now)))
}
