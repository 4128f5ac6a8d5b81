//! `POST /v1/authorizations`, `GET /v1/authorizations/{id}`, `DELETE /v1/authorizations/{id}`.
//!
//! Authorizations are immutable (receipt format §3.3): a change is a create with `replaces`, which revokes the
//! predecessor as `superseded` in the same transaction, and the two receipts point at each other.

use std::sync::Arc;

use allowly_core::model::Reason;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::escalation_targets::Lists;
use super::{Body, edition_grants};
use crate::AppState;
use crate::auth::Runtime;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::idempotency::{self, IdemKey};
use crate::parse::{self, Fields};
use crate::policy::parse_grants;
use crate::store::authorizations::{self as db, AuthRow};
use crate::store::receipts::{self, Draft, Event, Kind, Lookup};
use crate::store::{Tx, confirmations, webhooks};
use crate::util;
use crate::wire::{AuthorizationBody, AuthorizationRevoked, ReceiptEnvelope, Revocation};

const CREATE_FIELDS: &[&str] = &[
    "user_id",
    "agent_id",
    "scopes",
    "actions",
    "expires_at",
    "metadata",
    "budget_limit_micros",
    "requires_confirm_for",
    "requires_deny_for",
    "replaces",
    "confirmation_timeout_seconds",
    "requires_escalation_for",
    "escalation_targets",
    // Sent by existing clients; accepted only when null.
    "policy_id",
];
const REVOKE_FIELDS: &[&str] = &["revoked_by", "notes", "superseded_by"];
pub(super) const DEFAULT_TTL_DAYS: i64 = 90;
pub(super) const MAX_META: usize = 4096;

/// The authorization object of every response; `status` (with `revoked_at`) only when read back.
fn auth_body(
    a: &AuthRow,
    receipt: Option<ReceiptEnvelope>,
    revocation_receipt: Option<ReceiptEnvelope>,
    status: Option<&'static str>,
) -> AuthorizationBody {
    AuthorizationBody {
        actions: None,
        agent_id: a.agent_id.clone(),
        authorization_id: a.id.clone(),
        budget_limit_micros: a.budget_limit,
        budget_spent_micros: a.budget_limit.map(|_| a.budget_spent + a.budget_reserved),
        created_at: a.created_at.clone(),
        escalation_targets: a.escalation_targets.clone(),
        expires_at: a.expires_at.clone(),
        metadata: a.metadata.clone(),
        policy_id: None,
        receipt,
        replaced_authorization_id: a.replaced_authorization_id.clone(),
        requires_confirm_for: a.requires_confirm_for.clone(),
        requires_deny_for: a.requires_deny_for.clone(),
        requires_escalation_for: a.requires_escalation_for.clone(),
        revocation_receipt,
        revoked_at: status.map(|_| a.revoked_at.clone()),
        scopes: None,
        status,
        user_id: a.user_id.clone(),
    }
    .with_scopes(&a.scope_field, a.scopes.clone())
}

/// `confirmation_timeout_seconds` of either create shape: how long this authorization's confirmations wait for an
/// answer. Any positive value is kept as sent and clamped when a confirmation opens (60 s, or 1 s under `--dev`,
/// to 7 days), so one request means the same on every server; zero or less is an error.
pub(super) fn opt_confirm_timeout(f: &mut Fields) -> Option<i64> {
    let t = f.opt_i64("confirmation_timeout_seconds");
    if t.is_some_and(|t| t < 1) {
        f.error("confirmation_timeout_seconds", "must be a positive number of seconds");
    }
    t
}

pub(super) struct CreateReq {
    pub row: AuthRow,
    pub replaces: Option<String>,
}

pub(super) fn parse_create(
    body: &axum::body::Bytes,
    workspace_id: &str,
    now: time::OffsetDateTime,
) -> Result<CreateReq, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, CREATE_FIELDS)?;
    let user_id = f.req_str("user_id");
    let agent_id = f.req_str("agent_id");
    let (scope_field, scopes) = match (f.take("scopes"), f.take("actions")) {
        (Some(_), Some(_)) => {
            f.error("actions", "send either scopes or actions, not both");
            ("scopes", Value::Null)
        }
        (Some(s), None) => ("scopes", s),
        (None, Some(a)) => ("actions", a),
        (None, None) => {
            f.error("scopes", "is required");
            ("scopes", Value::Null)
        }
    };
    let grants = if scopes.is_null() {
        Vec::new()
    } else {
        match parse_grants(&scopes, scope_field) {
            Ok(g) => g,
            Err(errs) => {
                errs.into_iter().for_each(|e| f.error(&e.field, e.message));
                Vec::new()
            }
        }
    };
    let expires_at =
        f.opt_future_ts("expires_at", now).map(|t| t.unwrap_or(now + time::Duration::days(DEFAULT_TTL_DAYS)));
    let metadata = f.opt_object_within("metadata", MAX_META);
    let budget_limit = f.opt_i64("budget_limit_micros");
    if budget_limit.is_some_and(|b| b <= 0) {
        f.error("budget_limit_micros", "must be greater than 0");
    }
    let granted = |list: &[String]| list.iter().all(|s| grants.is_empty() || grants.iter().any(|g| &g.name == s));
    let requires_confirm_for = f.opt_str_list("requires_confirm_for").unwrap_or_default();
    if !granted(&requires_confirm_for) {
        f.error("requires_confirm_for", "may only name granted scopes");
    }
    let requires_deny_for = f.opt_str_list("requires_deny_for").unwrap_or_default();
    if !granted(&requires_deny_for) {
        f.error("requires_deny_for", "may only name granted scopes");
    }
    let requires_escalation_for = f.opt_str_list("requires_escalation_for").unwrap_or_default();
    let escalation_targets = match f.take("escalation_targets") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        // An empty list is what older clients send for "none".
        Some(Value::Array(a)) if a.is_empty() => Map::new(),
        Some(_) => {
            f.error(
                "escalation_targets",
                "must be an object {scope: \"member:<id>\" | [\"member:<l1>\", \"member:<l2>\"]}",
            );
            Map::new()
        }
    };
    let names: Vec<&str> = grants.iter().map(|g| g.name.as_str()).collect();
    let lists = Lists { confirm: &requires_confirm_for, deny: &requires_deny_for, escalate: &requires_escalation_for };
    for (field, message) in super::escalation_targets::check(&names, &lists, &escalation_targets) {
        f.error(&field, message);
    }
    if f.has("policy_id") {
        f.error("policy_id", "must be null: policies are not supported yet");
    }
    let replaces = f.opt_str("replaces");
    let confirmation_timeout = opt_confirm_timeout(&mut f);
    f.finish()?;
    let (Some(user_id), Some(agent_id), Some(expires_at)) = (user_id, agent_id, expires_at) else {
        return Err(ApiError::validation(Vec::new()));
    };
    let id = util::new_id("auth");
    Ok(CreateReq {
        row: AuthRow {
            id,
            workspace_id: workspace_id.to_string(),
            user_id,
            agent_id,
            scope_field: scope_field.to_string(),
            scopes,
            grants,
            requires_confirm_for,
            requires_deny_for,
            metadata,
            budget_limit,
            budget_spent: 0,
            budget_reserved: 0,
            revoked: false,
            created_at: util::fmt_ts(now),
            expires_at: util::fmt_ts(expires_at),
            revoked_at: None,
            replaced_authorization_id: replaces.clone(),
            create_receipt_id: util::new_id("rcp"),
            revocation_receipt_id: None,
            revoke_response: None,
            policy: None,
            confirmation_timeout,
            requires_escalation_for,
            escalation_targets,
        },
        replaces,
    })
}

pub async fn create(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let now = util::now();
    // Two request shapes: the 0.3.1 one (explicit scopes) and 0.8.0's (a policy edition).
    let (legacy, edition) = if edition_grants::names_edition(&body) {
        (None, Some(edition_grants::parse(&body, now)?))
    } else {
        (Some(parse_create(&body, &who.workspace_id, now)?), None)
    };
    let idem = IdemKey::from_request(&headers, "POST", "/v1/authorizations", &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    let req = match (legacy, edition) {
        (Some(req), _) => req,
        (None, Some(e)) => {
            let row = edition_grants::build_row(&mut tx, &who.workspace_id, &e, now).await?;
            CreateReq { row, replaces: e.replaces }
        }
        (None, None) => unreachable!("one of the two shapes was parsed"),
    };
    let row = req.row;
    // The one rule that needs the store: every member named is a live member of this workspace.
    super::escalation_targets::check_members(&mut tx, &who.workspace_id, &row.escalation_targets).await?;
    let now_s = row.created_at.clone();
    let mut revocation_receipt = None;
    if let Some(pred_id) = &req.replaces {
        let pred = db::get_locked(&mut tx, &who.workspace_id, pred_id)
            .await?
            .ok_or_else(|| ApiError::field(WireCode::AuthorizationNotFound, "replaces", "no such authorization"))?;
        if pred.revoked {
            return Err(ApiError::field(
                WireCode::ValidationError,
                "replaces",
                "that authorization is already revoked",
            ));
        }
        let (_, rid) = revoke_in_tx(&mut tx, &pred, "superseded", None, Some(&row.id), &now_s).await?;
        revocation_receipt = Some(receipts::pending_envelope(&rid));
    }
    let mut ctx = Map::new();
    ctx.insert(row.scope_field.clone(), row.scopes.clone());
    ctx.insert("expires_at".into(), json!(row.expires_at));
    if row.policy.is_none() {
        ctx.insert("requires_confirm_for".into(), json!(row.requires_confirm_for));
        ctx.insert("requires_deny_for".into(), json!(row.requires_deny_for));
        ctx.insert("requires_escalation_for".into(), json!(row.requires_escalation_for));
        if !row.escalation_targets.is_empty() {
            ctx.insert("escalation_targets".into(), Value::Object(row.escalation_targets.clone()));
        }
    }
    if let Some(b) = row.budget_limit {
        ctx.insert("budget_limit_micros".into(), json!(b));
    }
    if let Some(r) = &req.replaces {
        ctx.insert("replaces".into(), json!(r));
    }
    let draft = Draft {
        receipt_id: row.create_receipt_id.clone(),
        workspace_id: who.workspace_id.clone(),
        issued_at: now_s.clone(),
        user_id: row.user_id.clone(),
        agent_id: row.agent_id.clone(),
        kind: Kind::Event(Event::AuthorizationCreated),
        resource: None,
        context: ctx,
        authorization_id: Some(row.id.clone()),
        engine_version: crate::engine_version().into(),
        policy_eval: None,
        policy_ref: row.policy.clone(),
    };
    db::insert(&mut tx, &row).await?;
    receipts::insert(&mut tx, &draft).await?;
    let receipt = receipts::pending_envelope(&row.create_receipt_id);
    let out = match &row.policy {
        Some(reference) => {
            let out = edition_grants::body(&row, reference.clone(), receipt, revocation_receipt);
            serde_json::to_value(out).map_err(ApiError::internal)?
        }
        None => serde_json::to_value(auth_body(&row, Some(receipt), revocation_receipt, None))
            .map_err(ApiError::internal)?,
    };
    idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::CREATED, &out).await?;
    tx.commit().await?;
    s.signer.kick();
    s.webhooks.kick();
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Revokes `a` inside `tx`: receipt, confirmations, stored first response. Returns (response, receipt id).
async fn revoke_in_tx(
    tx: &mut Tx,
    a: &AuthRow,
    revoked_by: &str,
    notes: Option<&str>,
    superseded_by: Option<&str>,
    now: &str,
) -> Result<(Revocation, String), ApiError> {
    let receipt_id = util::new_id("rcp");
    let revoked_confirmations = confirmations::expire_for_authorization(tx, &a.id).await?;
    let mut ctx = Map::new();
    ctx.insert("revoked_by".into(), json!(revoked_by));
    if let Some(n) = notes {
        ctx.insert("notes".into(), json!(n));
    }
    if let Some(sb) = superseded_by {
        ctx.insert("superseded_by".into(), json!(sb));
    }
    let draft = Draft {
        receipt_id: receipt_id.clone(),
        workspace_id: a.workspace_id.clone(),
        issued_at: now.to_string(),
        user_id: a.user_id.clone(),
        agent_id: a.agent_id.clone(),
        kind: Kind::Event(Event::AuthorizationRevoked),
        resource: None,
        context: ctx,
        authorization_id: Some(a.id.clone()),
        engine_version: crate::engine_version().into(),
        policy_eval: None,
        policy_ref: a.policy.clone(),
    };
    receipts::insert(tx, &draft).await?;
    webhooks::enqueue(
        tx,
        &a.workspace_id,
        webhooks::AUTHORIZATION_REVOKED,
        AuthorizationRevoked {
            agent_id: a.agent_id.clone(),
            authorization_id: a.id.clone(),
            reason: Reason::AuthorizationRevoked.as_str(),
            receipt_id: receipt_id.clone(),
            revoked_confirmations: revoked_confirmations.clone(),
            user_id: a.user_id.clone(),
        },
    )
    .await?;
    let out = Revocation {
        authorization_id: a.id.clone(),
        receipt: receipts::pending_envelope(&receipt_id),
        revoked_at: now.to_string(),
        revoked_confirmations,
    };
    db::mark_revoked(tx, &a.id, now, &receipt_id, &crate::wire::to_text(&out)).await?;
    Ok((out, receipt_id))
}

pub(super) struct RevokeReq {
    pub revoked_by: String,
    pub notes: Option<String>,
    pub superseded_by: Option<String>,
}

pub(super) fn parse_revoke(body: &axum::body::Bytes) -> Result<RevokeReq, ApiError> {
    let mut f = Fields::new(parse::object(body, true)?, REVOKE_FIELDS)?;
    let revoked_by = f.opt_str("revoked_by").unwrap_or_else(|| "user".into());
    let notes = f.opt_str("notes");
    let superseded_by = f.opt_str("superseded_by");
    if revoked_by.is_empty() {
        f.error("revoked_by", "must not be empty");
    }
    f.finish()?;
    Ok(RevokeReq { revoked_by, notes, superseded_by })
}

pub async fn revoke(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let RevokeReq { revoked_by, notes, superseded_by } = parse_revoke(&body)?;
    let idem = IdemKey::from_request(&headers, "DELETE", &format!("/v1/authorizations/{id}"), &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    let a = db::get_locked(&mut tx, &who.workspace_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::AuthorizationNotFound, "authorization"))?;
    let out = match &a.revoke_response {
        // Revoking twice answers the first result as stored (read back like every replay) and records nothing new.
        Some(first) => {
            let first: Value = serde_json::from_str(first).map_err(ApiError::internal)?;
            idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::OK, &first).await?;
            Json(first).into_response()
        }
        None => {
            let now = util::fmt_ts(util::now());
            let (out, _) =
                revoke_in_tx(&mut tx, &a, &revoked_by, notes.as_deref(), superseded_by.as_deref(), &now).await?;
            idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::OK, &out).await?;
            Json(out).into_response()
        }
    };
    tx.commit().await?;
    s.signer.kick();
    s.webhooks.kick();
    Ok(out)
}

pub async fn get_one(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    Path(id): Path<String>,
) -> ApiResult<Json<AuthorizationBody>> {
    let mut conn = s.store.reader().acquire().await?;
    let a = db::get(&mut conn, &who.workspace_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::AuthorizationNotFound, "authorization"))?;
    drop(conn);
    let now = util::fmt_ts(util::now());
    let status = match a.state(&now) {
        crate::policy::AuthState::Active => "active",
        crate::policy::AuthState::Revoked => "revoked",
        crate::policy::AuthState::Expired => "expired",
    };
    let env = |rid: &str, l: Lookup| l.envelope(rid);
    let receipt =
        env(&a.create_receipt_id, receipts::get(s.store.reader(), &who.workspace_id, &a.create_receipt_id).await?);
    // The predecessor's revoke receipt, for an authorization created with `replaces`.
    let revocation_receipt = match &a.replaced_authorization_id {
        Some(pred) => {
            // One connection at a time: on PostgreSQL the pool is shared with decisions.
            let pred = db::get(&mut *s.store.reader().acquire().await?, &who.workspace_id, pred).await?;
            match pred.and_then(|p| p.revocation_receipt_id) {
                Some(rid) => env(&rid, receipts::get(s.store.reader(), &who.workspace_id, &rid).await?),
                None => None,
            }
        }
        None => None,
    };
    Ok(Json(auth_body(&a, receipt, revocation_receipt, Some(status))))
}
