//! `POST /v1/check[?wait=true]`: one decision and one receipt per requested scope, all in one write transaction.
//!
//! The evaluation order itself is [`crate::policy::evaluate`]; this module reads its inputs and applies its
//! outcome inside the transaction: the per-day counter, the budget reservation, the confirmation lookup and
//! single-use consumption, and the receipt rows. Because the transaction holds the write lock from its first read
//! (`BEGIN IMMEDIATE` on SQLite; the authorization's row lock on PostgreSQL, see `store`), concurrent checks cannot
//! both see the last unit of budget or of `max_per_day`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};

use super::Body;
use super::receipts::{query_params, wait_signed};
use crate::AppState;
use crate::auth::Runtime;
use crate::crypto::MasterKey;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, IdemKey};
use crate::parse::{self, Fields};
use crate::policy::{self, AuthView, CheckInput, Outcome};
use crate::store::Tx;
use crate::store::authorizations::{self as db, AuthRow};
use crate::store::confirmations::{self, NewConfirmation};
use crate::store::receipts::{self, Draft, Kind};
use crate::store::webhooks;
use crate::{ENGINE_VERSION, util};

const FIELDS: &[&str] =
    &["authorization_id", "scopes", "actions", "resource", "context", "session_id", "estimated_cost_micros"];
pub(super) const MAX_SCOPES: usize = 32;
pub(super) const MAX_CONTEXT: usize = 4096;
/// How long a confirm nonce can be resolved.
const NONCE_TTL_MINUTES: i64 = 10;
/// `wait=true` waits at most this long for the receipts to be signed.
const CHECK_WAIT: Duration = Duration::from_secs(5);

pub(super) struct CheckReq {
    pub authorization_id: String,
    pub scopes: Vec<String>,
    pub resource: Option<String>,
    pub context: Map<String, Value>,
    pub session_id: Option<String>,
    pub estimate: Option<i64>,
}

pub(super) fn parse_check(body: &axum::body::Bytes) -> Result<CheckReq, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, FIELDS)?;
    let authorization_id = f.req_str("authorization_id");
    let (name, scopes) = match (f.has("scopes"), f.has("actions")) {
        (true, true) => {
            f.error("actions", "send either scopes or actions, not both");
            ("scopes", None)
        }
        (false, true) => ("actions", f.opt_str_list("actions")),
        (_, false) => ("scopes", f.opt_str_list("scopes")),
    };
    match &scopes {
        None if !f.has(name) => f.error(name, "is required"),
        Some(s) if s.is_empty() || s.len() > MAX_SCOPES => f.error(name, "must name 1 to 32 scopes"),
        _ => {}
    }
    let resource = f.opt_str("resource");
    let context = f.opt_object("context").unwrap_or_default();
    for reserved in ["budget", "session_id"] {
        if context.contains_key(reserved) {
            f.error(&format!("context.{reserved}"), "is reserved");
        }
    }
    let ctx_value = Value::Object(context.clone());
    if parse::json_size(&ctx_value) > MAX_CONTEXT {
        f.error("context", "must be at most 4 KiB");
    }
    // Context goes into the signed receipt verbatim, so it must obey the receipt format's number rules.
    if let Err(m) = parse::receipt_safe(&ctx_value, "context") {
        f.error("context", m);
    }
    let session_id = f.opt_str("session_id");
    let estimate = f.opt_i64("estimated_cost_micros");
    if estimate.is_some_and(|e| e < 0) {
        f.error("estimated_cost_micros", "must not be negative");
    }
    f.finish()?;
    match (authorization_id, scopes) {
        (Some(authorization_id), Some(scopes)) => {
            Ok(CheckReq { authorization_id, scopes, resource, context, session_id, estimate })
        }
        _ => Err(ApiError::validation(Vec::new())),
    }
}

pub async fn check(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let wait = match query_params(q.as_deref()).get("wait").map(String::as_str) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(_) => return Err(ApiError::field("validation_error", "wait", "must be true or false")),
    };
    let req = parse_check(&body)?;
    let idem = IdemKey::from_request(&headers, "POST", "/v1/check", &body)?;
    let mut tx = s.store.begin().await?;
    let out = match idempotency::replay_value(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        // A replay answers the stored body (upgraded to signed receipts below when waiting).
        Some((_, stored)) => open_nonces(&s.master, stored)?,
        None => {
            let out = decide(&mut tx, &who.workspace_id, &req).await?;
            let stored = if idem.is_some() { seal_nonces(&s.master, &out)? } else { Value::Null };
            idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::OK, &stored).await?;
            tx.commit().await?;
            s.signer.kick();
            let mut confirms = false;
            if let Some(results) = out["results"].as_object() {
                for r in results.values() {
                    let decision = r["decision"].as_str().unwrap_or("");
                    confirms |= decision == "confirm";
                    s.metrics.decision(decision, r["reason"].as_str().unwrap_or(""));
                }
            }
            // A confirm is the only decision that enqueues a webhook event; waking the dispatcher after every check
            // cost a database read per check for nothing.
            if confirms {
                s.webhooks.kick();
            }
            out
        }
    };
    let out = if wait { sign_wait(&s, &who.workspace_id, out).await? } else { out };
    Ok((StatusCode::OK, Json(out)).into_response())
}

/// AAD of a sealed confirm nonce: binds it to its confirmation and keeps it apart from sealed signing keys.
fn nonce_aad(confirmation_id: &str) -> String {
    format!("confirm_nonce:{confirmation_id}")
}

/// The copy of a check's answer kept for idempotent replays. A confirm nonce is a single-use secret stored only as
/// a hash (`confirmations.nonce_hash`), yet a retry whose first answer was lost needs it back; so the copy holds it
/// sealed with the master key rather than in clear, where anyone reading the database could approve with it.
fn seal_nonces(master: &MasterKey, out: &Value) -> Result<Value, ApiError> {
    let mut stored = out.clone();
    for r in stored.get_mut("results").and_then(Value::as_object_mut).into_iter().flat_map(|m| m.values_mut()) {
        let (Some(nonce), Some(id)) = (r["confirm_nonce"].as_str(), r["confirmation_id"].as_str()) else { continue };
        let (ciphertext, seal_nonce) = master.seal(nonce.as_bytes(), &nonce_aad(id)).map_err(ApiError::internal)?;
        r["confirm_nonce"] = json!({"sealed": B64.encode(ciphertext), "seal_nonce": B64.encode(seal_nonce)});
    }
    Ok(stored)
}

/// Reverses [`seal_nonces`] on a stored answer (an answer stored before nonces were sealed passes unchanged).
fn open_nonces(master: &MasterKey, mut stored: Value) -> Result<Value, ApiError> {
    for r in stored.get_mut("results").and_then(Value::as_object_mut).into_iter().flat_map(|m| m.values_mut()) {
        let (Some(sealed), Some(id)) = (r["confirm_nonce"].as_object(), r["confirmation_id"].as_str()) else {
            continue;
        };
        let field = |name: &str| {
            sealed
                .get(name)
                .and_then(Value::as_str)
                .and_then(|t| B64.decode(t).ok())
                .ok_or_else(|| ApiError::internal("stored check answer has a malformed sealed confirm nonce"))
        };
        let nonce =
            master.open(&field("sealed")?, &field("seal_nonce")?, &nonce_aad(id)).map_err(ApiError::internal)?;
        let nonce = String::from_utf8(nonce).map_err(ApiError::internal)?;
        r["confirm_nonce"] = json!(nonce);
    }
    Ok(stored)
}

/// Replaces every pending receipt envelope by the signed one, waiting up to 5 s in total.
async fn sign_wait(s: &AppState, ws: &str, mut out: Value) -> Result<Value, ApiError> {
    let deadline = tokio::time::Instant::now() + CHECK_WAIT;
    if let Some(results) = out.get_mut("results").and_then(Value::as_object_mut) {
        for r in results.values_mut() {
            let Some(id) = r.pointer("/receipt/receipt_id").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            if let Some(env) = wait_signed(s, ws, &id, deadline).await?.envelope(&id) {
                r["receipt"] = env;
            }
        }
    }
    Ok(out)
}

/// Decides every scope inside `tx` and returns the response body.
async fn decide(tx: &mut Tx, ws: &str, req: &CheckReq) -> Result<Value, ApiError> {
    let now_t = util::now();
    let now = util::fmt_ts(now_t);
    let day = util::utc_day(now_t);
    let auth = db::get_locked(tx, ws, &req.authorization_id).await?;
    let mut results = Map::new();
    for scope in &req.scopes {
        let result = decide_scope(tx, ws, req, auth.as_ref(), scope, &now, &day, now_t).await?;
        results.insert(scope.clone(), result);
    }
    Ok(json!({
        "authorization_id": req.authorization_id,
        "user_id": auth.as_ref().map(|a| a.user_id.clone()),
        "agent_id": auth.as_ref().map(|a| a.agent_id.clone()),
        "authorization_expires_at": auth.as_ref().map(|a| a.expires_at.clone()),
        "engine_version": ENGINE_VERSION,
        "results": results,
    }))
}

#[allow(clippy::too_many_arguments)]
async fn decide_scope(
    tx: &mut Tx,
    ws: &str,
    req: &CheckReq,
    auth: Option<&AuthRow>,
    scope: &str,
    now: &str,
    day: &str,
    now_t: time::OffsetDateTime,
) -> Result<Value, ApiError> {
    // Only a grant with `max_per_day` reads the counter (see `policy::evaluate`), so the query runs only then: every
    // statement is a round trip on the one write connection that all decisions queue for.
    let today_count = match auth {
        Some(a) if a.grants.iter().any(|g| g.name == scope && g.max_per_day.is_some()) => {
            db::today_count(tx, &a.id, scope, day).await?
        }
        _ => 0,
    };
    let view = auth.map(|a| AuthView {
        state: a.state(now),
        grants: &a.grants,
        requires_confirm_for: &a.requires_confirm_for,
        requires_deny_for: &a.requires_deny_for,
        budget: a.budget(),
    });
    let input = CheckInput {
        scope,
        resource: req.resource.as_deref(),
        context: &req.context,
        estimated_cost: req.estimate,
        scope_count: req.scopes.len(),
        today_count,
    };
    let eval = policy::evaluate(view.as_ref(), &input)?;
    let receipt_id = util::new_id("rcp");
    let mut ctx = req.context.clone();
    if let Some(sid) = &req.session_id {
        ctx.insert("session_id".into(), json!(sid));
    }
    let mut result = Map::new();
    for k in ["confirm_nonce", "confirmation_id", "confirm_expires_at", "confirm_prompt_hint", "budget"] {
        result.insert(k.into(), Value::Null);
    }
    let (decision, reason) = match (&eval.outcome, auth) {
        (Outcome::Deny(r), _) => ("deny", *r),
        (Outcome::Allow, _) => ("allow", "scope_granted"),
        (Outcome::NeedsConfirm { prompt }, Some(a)) => {
            match confirmations::matching_decision(tx, &a.id, scope, req.resource.as_deref(), now).await? {
                Some(c) if c.status == "approved" && confirmations::consume(tx, &c.id, &receipt_id).await? => {
                    ctx.insert("confirmation_id".into(), json!(c.id));
                    ctx.insert("approved_resource".into(), json!(c.resource));
                    ("allow", "user_confirmed")
                }
                Some(c) if c.status == "denied_by_user" => {
                    ctx.insert("confirmation_id".into(), json!(c.id));
                    ("deny", "user_rejected")
                }
                _ => {
                    let nonce = util::random_token();
                    let cnf_id = util::new_id("cnf");
                    let expires = util::fmt_ts(now_t + time::Duration::minutes(NONCE_TTL_MINUTES));
                    confirmations::create(
                        tx,
                        &NewConfirmation {
                            id: &cnf_id,
                            workspace_id: ws,
                            authorization_id: &a.id,
                            nonce_hash: &util::sha256_hex(nonce.as_bytes()),
                            scope,
                            resource: req.resource.as_deref(),
                            now,
                            nonce_expires_at: &expires,
                            check_receipt_id: &receipt_id,
                        },
                    )
                    .await?;
                    webhooks::enqueue(
                        tx,
                        ws,
                        webhooks::CONFIRMATION_CREATED,
                        json!({
                            "confirmation_id": cnf_id, "authorization_id": a.id, "user_id": a.user_id,
                            "agent_id": a.agent_id, "scope": scope, "reason": "scope_requires_user_confirmation",
                            "check_receipt_id": receipt_id, "confirm_expires_at": expires,
                        }),
                    )
                    .await?;
                    ctx.insert("confirmation_id".into(), json!(cnf_id));
                    let hint = prompt.clone().unwrap_or_else(|| match &req.resource {
                        Some(r) => format!("Allow {} to {scope} on {r}?", a.agent_id),
                        None => format!("Allow {} to {scope}?", a.agent_id),
                    });
                    result.insert("confirm_nonce".into(), json!(nonce));
                    result.insert("confirmation_id".into(), json!(cnf_id));
                    result.insert("confirm_expires_at".into(), json!(expires));
                    result.insert("confirm_prompt_hint".into(), json!(hint));
                    ("confirm", "scope_requires_user_confirmation")
                }
            }
        }
        (Outcome::NeedsConfirm { .. }, None) => ("deny", "authorization_not_found"),
    };
    if let (Some(a), Some(limit)) = (auth, auth.and_then(|a| a.budget_limit)) {
        if let Some(before) = eval.spent_before {
            let est = req.estimate.unwrap_or(0);
            let after = if decision == "allow" { before + est } else { before };
            let b = json!({"limit_micros": limit, "spent_micros": before, "estimated_cost_micros": est, "spent_after_micros": after});
            ctx.insert("budget".into(), b.clone());
            result.insert("budget".into(), b);
            if decision == "allow" {
                db::reserve(tx, &a.id, &receipt_id, req.resource.as_deref(), est).await?;
            }
        }
    }
    if decision == "allow" {
        if let (Some(a), Some(_)) = (auth, eval.max_per_day) {
            db::bump_count(tx, &a.id, scope, day).await?;
        }
    }
    let draft = Draft {
        receipt_id: receipt_id.clone(),
        workspace_id: ws.to_string(),
        issued_at: now.to_string(),
        decision: decision.into(),
        reason: reason.into(),
        user_id: auth.map(|a| a.user_id.clone()).unwrap_or_default(),
        agent_id: auth.map(|a| a.agent_id.clone()).unwrap_or_default(),
        kind: Kind::Action(scope.to_string()),
        resource: req.resource.clone(),
        context: ctx,
        authorization_id: auth.map(|a| a.id.clone()),
        engine_version: ENGINE_VERSION.into(),
        policy_eval: eval.policy_eval.clone(),
    };
    receipts::insert(tx, &draft).await?;
    result.insert("decision".into(), json!(decision));
    result.insert("reason".into(), json!(reason));
    result.insert("receipt".into(), receipts::pending_envelope(&receipt_id));
    result.insert("policy_eval".into(), eval.policy_eval.unwrap_or(Value::Null));
    Ok(Value::Object(result))
}

#[cfg(test)]
mod sealed_nonce_tests {
    use super::*;

    #[test]
    fn stored_answers_hold_nonces_sealed_to_their_confirmation() {
        let master = MasterKey::generate();
        let out = json!({"results": {
            "mail.send": {"decision": "confirm", "confirm_nonce": "the-secret-nonce", "confirmation_id": "cnf_1"},
            "docs.read": {"decision": "allow", "confirm_nonce": null, "confirmation_id": null},
        }});
        let stored = seal_nonces(&master, &out).expect("seal");
        assert!(!stored.to_string().contains("the-secret-nonce"), "{stored}");
        assert_eq!(open_nonces(&master, stored.clone()).expect("open"), out);
        // Moved to another confirmation or opened with another master key, it does not open.
        let mut moved = stored.clone();
        moved["results"]["mail.send"]["confirmation_id"] = json!("cnf_2");
        assert!(open_nonces(&master, moved).is_err());
        assert!(open_nonces(&MasterKey::generate(), stored).is_err());
        // A copy stored before nonces were sealed replays unchanged.
        assert_eq!(open_nonces(&master, out.clone()).expect("legacy copy"), out);
    }
}
