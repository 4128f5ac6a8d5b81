//! `POST /v1/confirmations/{confirm_nonce}` (the user's decision) and `GET /v1/confirmations/{confirmation_id}`.
//!
//! The nonce is a bearer secret: only its hash is stored, it is never logged (spans carry the route template) and
//! never returned by the GET. Exactly one resolution wins (conditional update in `store::confirmations`).

use std::sync::Arc;

use allowly_core::model::{ConfirmationDecision, ConfirmationStatus};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Body;
use crate::AppState;
use crate::auth::Runtime;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::expiry;
use crate::idempotency::{self, IdemKey};
use crate::parse::{self, Fields};
use crate::store::authorizations as auth_db;
use crate::store::confirmations::{self as db, ConfRow, Resolution};
use crate::store::receipts::{self, Event};
use crate::store::resolution_webhooks;
use crate::store::webhooks;
use crate::util;
use crate::wire::{
    Confirmation, ConfirmationMonitor, ConfirmationResolution, ConfirmationResolved, ResolutionEventData,
};

pub(super) const MIN_TTL: i64 = 60;
pub(super) const MAX_TTL: i64 = 7 * 24 * 3600;
const DEFAULT_TTL: i64 = 300;

/// The body of a resolution: `(approved, ttl_seconds)`, the TTL clamped to what the server allows.
pub(super) fn parse_resolve(body: &axum::body::Bytes) -> Result<(bool, i64), ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["approved", "ttl_seconds"])?;
    let approved = f.opt_bool("approved");
    if approved.is_none() && !f.has("approved") {
        f.error("approved", "is required");
    }
    let ttl = f.opt_i64("ttl_seconds").unwrap_or(DEFAULT_TTL).clamp(MIN_TTL, MAX_TTL);
    f.finish()?;
    let approved = approved.ok_or_else(|| ApiError::field(WireCode::ValidationError, "approved", "is required"))?;
    Ok((approved, ttl))
}

pub async fn resolve(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    Path(nonce): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let (approved, ttl) = parse_resolve(&body)?;
    let nonce_hash = util::sha256_hex(nonce.as_bytes());
    // The path is hashed into the fingerprint, so the nonce itself is never stored by idempotency either.
    let idem = IdemKey::from_request(&headers, "POST", &format!("/v1/confirmations/{nonce_hash}"), &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    let row = db::by_nonce(&mut tx, &who.workspace_id, &nonce_hash)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::ConfirmationNotFound, "confirmation"))?;
    let now_t = util::now();
    let now = util::fmt_ts(now_t);
    // A late answer finds the confirmation expired: its expiry is receipted now unless the sweep already did, and
    // the answer is refused.
    if expiry::expire(&mut tx, &row, &now).await?.is_some() {
        tx.commit().await?;
        s.signer.kick();
        return Err(ApiError::new(WireCode::ConfirmationExpired, "this confirmation has expired"));
    }
    let expires_at = util::fmt_ts(now_t + time::Duration::seconds(ttl));
    let decision = ConfirmationDecision::from_approved(approved);
    let receipt_id = util::new_id("rcp");
    let won = db::resolve(
        &mut tx,
        &Resolution {
            id: &row.id,
            decision,
            now: &now,
            ttl_seconds: ttl,
            decision_expires_at: &expires_at,
            receipt_id: &receipt_id,
        },
    )
    .await?;
    if !won {
        return Err(if row.effective_status(&now) == ConfirmationStatus::Expired {
            ApiError::new(WireCode::ConfirmationExpired, "this confirmation has expired")
        } else {
            ApiError::not_found(WireCode::ConfirmationNotFound, "confirmation")
        });
    }
    let auth = auth_db::get(&mut tx, &who.workspace_id, &row.authorization_id)
        .await?
        .ok_or_else(|| ApiError::internal("confirmation without authorization"))?;
    let event = if approved { Event::ConfirmationApproved } else { Event::ConfirmationRejected };
    let extra = [("ttl_seconds", json!(ttl)), ("decision_expires_at", json!(expires_at))];
    let draft = crate::decide::confirmation_receipt(receipt_id.clone(), &row, &auth, &now, event, extra);
    receipts::insert(&mut tx, &draft).await?;
    webhooks::enqueue(
        &mut tx,
        &who.workspace_id,
        webhooks::CONFIRMATION_RESOLVED,
        ConfirmationResolved {
            agent_id: auth.agent_id.clone(),
            authorization_id: auth.id.clone(),
            confirmation_id: row.id.clone(),
            decision: decision.as_str(),
            reason: draft.reason(),
            receipt_id: receipt_id.clone(),
            scope: row.scope.clone(),
            user_id: auth.user_id.clone(),
        },
    )
    .await?;
    resolution_webhooks::enqueue(
        &mut tx,
        &who.workspace_id,
        resolution_webhooks::CONFIRMATION_RESOLVED,
        ResolutionEventData {
            prompt_id: row.id.clone(),
            resolution_receipt_id: receipt_id.clone(),
            source_receipt_id: Some(row.check_receipt_id.clone()),
            status: if approved { "approved" } else { "rejected" },
        },
    )
    .await?;
    // The answer follows the authorization's kind: 0.3.1's words for scope-based ones, 0.8.0's for edition-granted
    // ones (each official client refuses the other's).
    let word = match (&auth.policy, approved) {
        (Some(_), false) => ConfirmationDecision::NotApproved.as_str(),
        _ => decision.as_str(),
    };
    let out = ConfirmationResolution {
        authorization_id: approved.then(|| auth.id.clone()),
        confirmation_id: row.id.clone(),
        decision: word,
        expires_at: approved.then_some(expires_at),
        receipt: receipts::pending_envelope(&receipt_id),
    };
    idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::OK, &out).await?;
    tx.commit().await?;
    s.signer.kick();
    s.webhooks.kick();
    Ok(Json(out).into_response())
}

/// Reads a confirmation for a status route; a pending one past its time is expired (and receipted) first, so a
/// reader never sees an expiry without its receipt.
async fn read_row(s: &AppState, ws: &str, id: &str) -> ApiResult<ConfRow> {
    let mut conn = s.store.reader().acquire().await?;
    let row = db::get(&mut conn, ws, id)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::ConfirmationNotFound, "confirmation"))?;
    drop(conn);
    let now = util::fmt_ts(util::now());
    if row.effective_status(&now) != ConfirmationStatus::Expired || row.status != ConfirmationStatus::Pending {
        return Ok(row);
    }
    let mut tx = s.store.begin().await?;
    // Read again inside the write transaction: it may have been answered or expired since.
    let fresh = db::get(&mut tx, ws, id).await?.ok_or_else(|| ApiError::internal("confirmation vanished"))?;
    if expiry::expire(&mut tx, &fresh, &now).await?.is_none() {
        tx.rollback().await?;
        return Ok(fresh);
    }
    let expired = db::get(&mut tx, ws, id).await?.ok_or_else(|| ApiError::internal("confirmation vanished"))?;
    tx.commit().await?;
    s.signer.kick();
    Ok(expired)
}

pub async fn get_one(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    Path(id): Path<String>,
) -> ApiResult<Json<Confirmation>> {
    let c = read_row(&s, &who.workspace_id, &id).await?;
    let mut conn = s.store.reader().acquire().await?;
    let auth = auth_db::get(&mut conn, &who.workspace_id, &c.authorization_id).await?;
    drop(conn);
    let now = util::fmt_ts(util::now());
    let authority_status = monitor(&c, &now, auth.as_ref().is_none_or(|a| a.revoked)).authority_status;
    Ok(Json(Confirmation {
        authority_status,
        status: c.effective_status(&now).as_str().to_owned(),
        receipt: c.resolve_receipt_id.as_deref().or(c.expire_receipt_id.as_deref()).map(receipts::pending_envelope),
        authorization_id: c.authorization_id,
        check_receipt_id: c.check_receipt_id,
        confirm_expires_at: c.nonce_expires_at,
        confirmation_id: c.id,
        created_at: c.created_at,
        decided_at: c.decided_at,
        expires_at: c.decision_expires_at,
        resource: c.resource,
        scope: c.scope,
        ttl_seconds: c.ttl_seconds,
    }))
}

/// `GET /v1/confirmations/{confirmation_id}/status`, the official 0.8.0 SDK's `confirmations.get_status`.
pub async fn status(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    Path(id): Path<String>,
) -> ApiResult<Json<ConfirmationMonitor>> {
    let c = read_row(&s, &who.workspace_id, &id).await?;
    let mut conn = s.store.reader().acquire().await?;
    let auth = auth_db::get(&mut conn, &who.workspace_id, &c.authorization_id).await?;
    drop(conn);
    let now = util::fmt_ts(util::now());
    let auth_revoked = auth.as_ref().is_none_or(|a| a.revoked);
    Ok(Json(monitor(&c, &now, auth_revoked)))
}

/// The 0.8.0 monitor view of a confirmation row at `now`.
fn monitor(c: &db::ConfRow, now: &str, auth_revoked: bool) -> ConfirmationMonitor {
    use ConfirmationStatus::*;
    // What the user chose (a used approval was still an approval), then whether it can still be used.
    let (status, authority) = match (c.status, c.effective_status(now)) {
        (Pending, Expired) => ("expired", "none"),
        (Pending, _) => ("pending", "none"),
        (DeniedByUser, _) => ("rejected", "none"),
        (Approved, _) if auth_revoked => ("approved", "revoked"),
        (Approved, Expired) => ("approved", "expired"),
        (Approved, _) => ("approved", "available"),
        (Consumed, _) => ("approved", "none"),
        // Only pending nonces and unused approvals are ever marked expired (by a revoke), so a decided one was approved.
        (Expired, _) if c.decided_at.is_some() => ("approved", if auth_revoked { "revoked" } else { "expired" }),
        (Expired, _) => ("expired", if auth_revoked { "revoked" } else { "none" }),
    };
    let available = authority == "available";
    ConfirmationMonitor {
        action: c.scope.clone(),
        authority_expires_at: if available { c.decision_expires_at.clone() } else { None },
        authority_status: authority,
        authorization_id: c.authorization_id.clone(),
        child_authorization_id: available.then(|| c.authorization_id.clone()),
        confirmation_id: c.id.clone(),
        expires_at: c.decision_expires_at.clone().unwrap_or_else(|| c.nonce_expires_at.clone()),
        resolution_receipt_id: c.resolve_receipt_id.clone().or_else(|| c.expire_receipt_id.clone()),
        resolved_at: c.decided_at.clone(),
        resource: c.resource.clone(),
        source_receipt_id: Some(c.check_receipt_id.clone()),
        status,
    }
}
