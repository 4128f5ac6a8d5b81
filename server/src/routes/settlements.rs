//! `POST /v1/budget-settlements`: reconciles an allowed budgeted check's reservation with its actual cost.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, json};

use super::Body;
use crate::AppState;
use crate::auth::Runtime;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::idempotency::{self, IdemKey};
use crate::parse::{self, Fields};
use crate::store::authorizations as db;
use crate::store::receipts::{self, Draft, Event, Kind, Lookup};
use crate::util;
use crate::wire::Settlement;

/// The body of a settlement: `(check_receipt_id, actual_cost_micros)`.
pub(super) fn parse_settle(body: &axum::body::Bytes) -> Result<(String, i64), ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["check_receipt_id", "actual_cost_micros"])?;
    let check_receipt_id = f.req_str("check_receipt_id");
    let actual = f.opt_i64("actual_cost_micros");
    match actual {
        None if !f.has("actual_cost_micros") => f.error("actual_cost_micros", "is required"),
        Some(a) if a < 0 => f.error("actual_cost_micros", "must not be negative"),
        _ => {}
    }
    f.finish()?;
    let (Some(check_receipt_id), Some(actual)) = (check_receipt_id, actual) else {
        return Err(ApiError::validation(Vec::new()));
    };
    Ok((check_receipt_id, actual))
}

pub async fn settle(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let (check_receipt_id, actual) = parse_settle(&body)?;
    // A settlement is an agent reporting what its allowed action cost: the agent-token rules of a check apply.
    who.require_agent_token_if_configured()?;
    let idem = IdemKey::from_request(&headers, "POST", "/v1/budget-settlements", &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    // Read through the transaction: on PostgreSQL the pool is shared, and a request holding one connection must not
    // wait for a second.
    if matches!(receipts::get(&mut *tx, &who.workspace_id, &check_receipt_id).await?, Lookup::NotFound) {
        return Err(ApiError::not_found(WireCode::ReceiptNotFound, "check receipt"));
    }
    let res = db::reservation(&mut tx, &check_receipt_id).await?.ok_or_else(|| {
        ApiError::field(
            WireCode::NotBudgeted,
            "check_receipt_id",
            "is not an allowed check of a budgeted authorization",
        )
    })?;
    if res.settled {
        return Err(ApiError::conflict(WireCode::AlreadySettled, "this check was already settled"));
    }
    let auth = db::get_locked(&mut tx, &who.workspace_id, &res.authorization_id)
        .await?
        .ok_or_else(|| ApiError::internal("reservation without authorization"))?;
    who.require_agent_of(&auth.agent_id)?;
    let before = auth.budget_spent + auth.budget_reserved;
    let after = before - res.estimated + actual;
    let delta = actual - res.estimated;
    let now = util::fmt_ts(util::now());
    let receipt_id = util::new_id("rcp");
    let mut ctx = Map::new();
    ctx.insert("check_receipt_id".into(), json!(check_receipt_id));
    ctx.insert("estimated_cost_micros".into(), json!(res.estimated));
    ctx.insert("actual_cost_micros".into(), json!(actual));
    ctx.insert("delta_micros".into(), json!(delta));
    ctx.insert("spent_before_micros".into(), json!(before));
    ctx.insert("spent_after_micros".into(), json!(after));
    let draft = Draft {
        receipt_id: receipt_id.clone(),
        workspace_id: who.workspace_id.clone(),
        issued_at: now.clone(),
        user_id: auth.user_id.clone(),
        agent_id: auth.agent_id.clone(),
        kind: Kind::Event(Event::BudgetSettled),
        resource: res.resource.clone(),
        context: ctx,
        authorization_id: Some(auth.id.clone()),
        engine_version: crate::engine_version().into(),
        policy_eval: None,
        policy_ref: auth.policy.clone(),
    };
    db::settle(&mut tx, &check_receipt_id, &res, actual, &now, &receipt_id).await?;
    receipts::insert(&mut tx, &draft).await?;
    let out = Settlement {
        actual_cost_micros: actual,
        authorization_id: auth.id,
        check_receipt_id,
        delta_micros: delta,
        estimated_cost_micros: res.estimated,
        receipt: receipts::pending_envelope(&receipt_id),
        spent_after_micros: after,
        spent_before_micros: before,
    };
    idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::OK, &out).await?;
    tx.commit().await?;
    s.signer.kick();
    Ok(Json(out).into_response())
}
