//! `POST /v1/check[?wait=true]`: one decision and one receipt per requested scope, all in one write transaction.
//!
//! Every rule of the decision is pure and lives elsewhere: the evaluation order in [`crate::policy::evaluate`], what
//! follows it (stored answers, counters, the result and receipt) in [`crate::decide`]. This module only loads their
//! inputs and stores what they decide, inside the transaction: the per-day counter, the budget reservation, the
//! confirmation lookup and single-use consumption, and the receipt rows. Because the transaction holds the write lock from its first read
//! (`BEGIN IMMEDIATE` on SQLite; the authorization's row lock on PostgreSQL, see `store`), concurrent checks cannot
//! both see the last unit of budget or of `max_per_day`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use allowly_core::model::{ConfirmationStatus, Decision, MAX_CONTEXT_BYTES, MAX_SCOPES_PER_CHECK};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};

use super::receipts::{query_params, wait_signed};
use super::{Body, edition_grants, escalation_check};
use crate::AppState;
use crate::auth::Runtime;
use crate::crypto::MasterKey;
use crate::decide::{self, Ask, ReceiptSite, StoredAnswer};
use crate::edition::EditionView;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::idempotency::{self, IdemKey};
use crate::parse::{self, Fields};
use crate::policy::{self, AuthView, CheckInput, Outcome};
use crate::store::authorizations::{self as db, AuthRow};
use crate::store::confirmations::{self, NewConfirmation};
use crate::store::decision_cache::Scope;
use crate::store::policies as editions;
use crate::store::receipts;
use crate::store::signing_keys::{self, ActiveKey};
use crate::store::webhooks;
use crate::store::{Deferred, Tx, Writer};
use crate::util;
use crate::wire::{CheckBody, ScopeResult};
use allowly_core::policy::Definition;

const FIELDS: &[&str] = &[
    "authorization_id",
    "scopes",
    "actions",
    "resource",
    "context",
    "session_id",
    "estimated_cost_micros",
    "client_timestamp",
    "arguments_sha256",
    "confirmation_id",
];
/// `wait=true` waits at most this long for the receipts to be signed.
const CHECK_WAIT: Duration = Duration::from_secs(5);

pub(super) struct CheckReq {
    pub authorization_id: String,
    pub scopes: Vec<String>,
    pub resource: Option<String>,
    pub context: Map<String, Value>,
    pub session_id: Option<String>,
    pub estimate: Option<i64>,
    /// When the caller says it asked (official SDK 0.8.0 sends it); recorded in each receipt's context as the
    /// caller's claim, never used to decide.
    pub client_timestamp: Option<String>,
    /// Lowercase hex SHA-256 of the call's canonical arguments (core computes it): binds a confirmation this check
    /// opens, or the answer it uses, to exactly those arguments.
    pub arguments_sha256: Option<String>,
    /// The confirmation whose answer this re-check asks for; only that one may answer it.
    pub confirmation_id: Option<String>,
}

/// The agent-identity rules of a check, before anything is stored: a workspace that requires tokens refuses a check
/// without one, and a verified token must name the authorization's agent. An unknown authorization is left to the
/// evaluation (deny `authorization_not_found` with its receipt), as without a token.
async fn check_agent(s: &AppState, who: &Runtime, authorization_id: &str) -> ApiResult<()> {
    who.require_agent_token_if_configured()?;
    if who.agent.is_some() {
        let bound =
            crate::store::agents::authorization_agent(s.store.reader(), &who.workspace_id, authorization_id).await?;
        if let Some(bound) = bound {
            who.require_agent_of(&bound)?;
        }
    }
    Ok(())
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
        Some(s) if s.is_empty() || s.len() > MAX_SCOPES_PER_CHECK => {
            f.error(name, format!("must name 1 to {MAX_SCOPES_PER_CHECK} scopes"))
        }
        _ => {}
    }
    let resource = f.opt_str("resource");
    let context = f.opt_object("context").unwrap_or_default();
    for reserved in ["budget", "session_id", "client_timestamp"] {
        if context.contains_key(reserved) {
            f.error(&format!("context.{reserved}"), "is reserved");
        }
    }
    let ctx_value = Value::Object(context.clone());
    if parse::json_size(&ctx_value) > MAX_CONTEXT_BYTES {
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
    let client_timestamp = f.opt_str("client_timestamp");
    if client_timestamp.as_deref().is_some_and(|t| util::parse_ts(t).is_none()) {
        f.error("client_timestamp", "must be an RFC 3339 timestamp with a time zone");
    }
    let arguments_sha256 = f.opt_str("arguments_sha256");
    if arguments_sha256
        .as_deref()
        .is_some_and(|d| d.len() != 64 || !d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    {
        f.error("arguments_sha256", "must be 64 lowercase hex digits (SHA-256 of the canonical arguments)");
    }
    let confirmation_id = f.opt_str("confirmation_id");
    if confirmation_id.as_deref().is_some_and(|c| !c.starts_with("cnf_")) {
        f.error("confirmation_id", "must be a cnf_ id");
    }
    f.finish()?;
    match (authorization_id, scopes) {
        (Some(authorization_id), Some(scopes)) => Ok(CheckReq {
            authorization_id,
            scopes,
            resource,
            context,
            session_id,
            estimate,
            client_timestamp,
            arguments_sha256,
            confirmation_id,
        }),
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
        Some(_) => return Err(ApiError::field(WireCode::ValidationError, "wait", "must be true or false")),
    };
    let req = parse_check(&body)?;
    check_agent(&s, &who, &req.authorization_id).await?;
    let bucket = (who.workspace_id.clone(), req.authorization_id.clone());
    s.limiter
        .authorizations
        .take(&bucket, std::time::Instant::now())
        .map_err(|secs| ApiError::rate_limited("this authorization", secs))?;
    let idem = IdemKey::from_request(&headers, "POST", "/v1/check", &body)?;
    let (ws, master, min_timeout) = (who.workspace_id.clone(), s.master.clone(), s.min_confirm_timeout());
    let cache = s.store.decision_cache();
    let ahead = match (&cache, &idem) {
        (Some(c), None) => decide_ahead(c, &ws, &req, min_timeout, &master).await,
        _ => None,
    };
    // One group commit (`Store::write`): the answer comes back once the decision's rows are durable.
    let written = s
        .store
        .write(move |w| {
            Box::pin(async move {
                if let (Some(ahead), Some(c)) = (ahead, cache.as_deref())
                    && ahead.still_valid(c, &ws, &req.authorization_id)
                {
                    w.defer_all(ahead.rows);
                    let (signed, pending) = (ahead.signed, ahead.pending);
                    return Ok(Written::Fresh { body: ahead.body, signed, pending, ahead: true });
                }
                // A replay writes nothing and answers the stored body (upgraded to signed receipts below when
                // waiting, after the commit: the wait never holds the write lock from the signer). Without a key
                // there is nothing to look up, and no statement is spent on it.
                if idem.is_some()
                    && let Some((_, stored)) = idempotency::replay_value(w.tx().await?, &ws, idem.as_ref()).await?
                {
                    return Ok::<_, ApiError>(Written::Replay(stored));
                }
                let mut signing =
                    Signing { cache: cache.as_deref(), master: &master, keys: None, signed: 0, pending: 0 };
                let body = decide(w, &ws, &req, min_timeout, &mut signing).await?;
                if idem.is_some() {
                    let stored = seal_nonces(&master, &json_of(&body)?)?;
                    idempotency::save(w.tx().await?, &ws, idem.as_ref(), StatusCode::OK, &stored).await?;
                }
                Ok(Written::Fresh { body, signed: signing.signed, pending: signing.pending, ahead: false })
            })
        })
        .await?;
    let out = match written {
        Written::Replay(stored) => open_nonces(&s.master, stored)?,
        Written::Fresh { body, signed, pending, ahead } => {
            s.signer.signed_inline(signed);
            if ahead {
                s.metrics.decided_ahead();
            }
            if pending > 0 {
                s.signer.kick();
            }
            let mut confirms = false;
            for r in body.results.values() {
                confirms |= r.decision == Decision::Confirm.as_str() || r.decision == Decision::Escalate.as_str();
                s.metrics.decision(r.decision, r.reason);
            }
            // A confirm or an escalate is the only decision that enqueues a webhook event; waking the dispatcher after every check
            // cost a database read per check for nothing.
            if confirms {
                s.webhooks.kick();
            }
            if !wait {
                return Ok((StatusCode::OK, Json(body)).into_response());
            }
            json_of(&body)?
        }
    };
    // The sealed copy, a replay and the `wait` upgrade work on the answer as JSON; it serializes to the same bytes
    // as the typed body, whose fields are sorted like a `Value`'s members (see `crate::wire`).
    let out = if wait { sign_wait(&s, &who.workspace_id, out).await? } else { out };
    Ok((StatusCode::OK, Json(out)).into_response())
}

/// What a check's write transaction produced.
enum Written {
    /// The stored answer of an earlier request with the same `Idempotency-Key` (nonces still sealed).
    Replay(Value),
    /// A new answer, with how many of its receipts were signed in the transaction and how many wait for the signer,
    /// and whether it was decided ahead of the group commit.
    Fresh { body: CheckBody, signed: u64, pending: u64, ahead: bool },
}

/// A check decided in its request task, ahead of the group commit, from cached inputs alone.
struct Ahead {
    /// The authorization row and keys it was decided with: the lane keeps the result only if they are still current.
    auth: Arc<AuthRow>,
    keys: Arc<Vec<ActiveKey>>,
    body: CheckBody,
    rows: Vec<Deferred>,
    signed: u64,
    pending: u64,
}

/// Decides a check in its request task when everything it needs is in the decision cache (SQLite): the
/// authorization row and the signing keys, no idempotency record, and no step that reads or writes the database
/// (per-day counters, budget reservations, confirmations, escalations, policy editions). The same [`decide`] runs on a
/// detached [`Writer`], and the first statement it asks for ends the attempt. Why: the lane runs every decision of a
/// batch on its one task, one after another, and takes no new one while the batch commits; deciding here moves the
/// policy evaluation and the receipt's canonical bytes and signature onto the request tasks, which run in parallel.
async fn decide_ahead(cache: &Scope, ws: &str, req: &CheckReq, min_timeout: i64, master: &MasterKey) -> Option<Ahead> {
    let auth = cache.authorization(ws, &req.authorization_id)?;
    let keys = cache.signing_keys()?;
    let mut w = Writer::detached();
    let mut signing = Signing { cache: Some(cache), master, keys: Some(keys.clone()), signed: 0, pending: 0 };
    let body = decide(&mut w, ws, req, min_timeout, &mut signing).await.ok()?;
    // `decide` read the row from the cache itself: it must be the one captured (rows are never put back, so the
    // same `Arc` means the same row).
    let used = cache.authorization(ws, &req.authorization_id)?;
    Arc::ptr_eq(&used, &auth).then(|| Ahead {
        auth,
        keys,
        body,
        rows: w.take_deferred(),
        signed: signing.signed,
        pending: signing.pending,
    })
}

impl Ahead {
    /// In the lane, under the write lock: the row and keys are still the cached ones. Every write to the
    /// authorization forgets it (a re-read is a new `Arc`), a new key or another process's commit empties the cache,
    /// so identity means nothing the decision read has changed since.
    fn still_valid(&self, cache: &Scope, ws: &str, authorization_id: &str) -> bool {
        cache.authorization(ws, authorization_id).is_some_and(|a| Arc::ptr_eq(&a, &self.auth))
            && cache.signing_keys().is_some_and(|k| Arc::ptr_eq(&k, &self.keys))
    }
}

/// How a check's receipts get signed. SQLite: in the check's own transaction, with the keys of the decision cache
/// (exact under the one write lock, see `store::decision_cache`), so a receipt is signed when its answer is sent and
/// no signer pass reads it back. PostgreSQL (`cache` is `None`): rows go to the signer queue, whose claim
/// (`FOR UPDATE SKIP LOCKED`) and key count after the claim keep several processes and a concurrent rotation apart.
struct Signing<'a> {
    cache: Option<&'a Scope>,
    master: &'a MasterKey,
    /// Loaded at the first receipt.
    keys: Option<Arc<Vec<ActiveKey>>>,
    signed: u64,
    pending: u64,
}

impl Signing<'_> {
    /// Stores a check's receipt (deferred to the batch's end: nothing in a decision reads receipts), signed when
    /// this store signs in the transaction and a key covers it, else pending.
    async fn store(&mut self, w: &mut Writer, draft: &receipts::Draft) -> Result<(), ApiError> {
        let payload = draft.payload();
        if let Some(cache) = self.cache {
            if self.keys.is_none() {
                self.keys = Some(signing_keys::for_decision(w, cache, self.master).await.map_err(ApiError::internal)?);
            }
            let keys = self.keys.as_deref().map(Vec::as_slice).unwrap_or_default();
            // A receipt no key covers stays pending: the signer reports it and keeps it queued.
            if let Ok(signed) =
                crate::signer::sign_payload(keys, &draft.workspace_id, &draft.issued_at, payload.clone())
            {
                receipts::defer(w, draft, &payload, Some(signed));
                self.signed += 1;
                return Ok(());
            }
        }
        receipts::defer(w, draft, &payload, None);
        self.pending += 1;
        Ok(())
    }
}

fn json_of(body: &CheckBody) -> Result<Value, ApiError> {
    serde_json::to_value(body).map_err(ApiError::internal)
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
                r["receipt"] = serde_json::to_value(env).map_err(ApiError::internal)?;
            }
        }
    }
    Ok(out)
}

/// Decides every scope through `w` (in the group commit, or detached for [`decide_ahead`]) and returns the response
/// body.
async fn decide(
    w: &mut Writer,
    ws: &str,
    req: &CheckReq,
    min_timeout: i64,
    signing: &mut Signing<'_>,
) -> Result<CheckBody, ApiError> {
    let now_t = util::now();
    let now = util::fmt_ts(now_t);
    let day = util::utc_day(now_t);
    let auth = db::get_for_decision(w, signing.cache, ws, &req.authorization_id).await?;
    let auth = auth.as_deref();
    // An edition-granted authorization is decided by its edition (immutable, so read once per check).
    let edition = match auth.and_then(|a| a.policy.as_ref()) {
        Some(r) => {
            let row = editions::edition(w.tx().await?, ws, &r.policy_id, r.policy_version)
                .await?
                .ok_or_else(|| ApiError::internal("authorization names a missing policy edition"))?;
            Some(edition_grants::load_definition(&row.definition)?)
        }
        None => None,
    };
    let mut results = BTreeMap::new();
    for scope in &req.scopes {
        let at = At { now: &now, day: &day, now_t, min_timeout };
        let result = decide_scope(w, ws, req, auth, edition.as_ref(), scope, &at, signing).await?;
        results.insert(scope.clone(), result);
    }
    Ok(CheckBody {
        agent_id: auth.map(|a| a.agent_id.clone()),
        authorization_expires_at: auth.map(|a| a.expires_at.clone()),
        authorization_id: req.authorization_id.clone(),
        engine_version: crate::engine_version(),
        results,
        user_id: auth.map(|a| a.user_id.clone()),
    })
}

/// The instant a check is decided at, in the forms its steps need.
struct At<'a> {
    now: &'a str,
    day: &'a str,
    now_t: time::OffsetDateTime,
    /// The shortest confirmation timeout this server allows (`--dev` allows shorter).
    min_timeout: i64,
}

/// One scope: read what the decision needs, let `policy` (or `edition`) and `decide` decide, store what they say.
#[allow(clippy::too_many_arguments)]
async fn decide_scope(
    w: &mut Writer,
    ws: &str,
    req: &CheckReq,
    auth: Option<&AuthRow>,
    edition: Option<&Definition>,
    scope: &str,
    at: &At<'_>,
    signing: &mut Signing<'_>,
) -> Result<ScopeResult, ApiError> {
    let (now, day, now_t) = (at.now, at.day, at.now_t);
    let counts_today = match (auth, edition) {
        (Some(a), Some(d)) => {
            a.grants.iter().any(|g| g.name == scope) && d.guards(scope).is_some_and(|g| g.max_per_day.is_some())
        }
        (Some(a), None) => decide::reads_today_count(&a.grants, scope),
        _ => false,
    };
    let today_count = match auth {
        Some(a) if counts_today => db::today_count(w.tx().await?, &a.id, scope, day).await?,
        _ => 0,
    };
    let input = CheckInput {
        scope,
        resource: req.resource.as_deref(),
        context: &req.context,
        estimated_cost: req.estimate,
        scope_count: req.scopes.len(),
        today_count,
    };
    let eval = match (auth, edition) {
        (Some(a), Some(definition)) => {
            let actions: Vec<String> = a.grants.iter().map(|g| g.name.clone()).collect();
            let view = EditionView { state: a.state(now), actions: &actions, definition, budget: a.budget() };
            crate::edition::evaluate(&view, &input)?
        }
        _ => {
            let view = auth.map(|a| AuthView {
                state: a.state(now),
                grants: &a.grants,
                requires_confirm_for: &a.requires_confirm_for,
                requires_deny_for: &a.requires_deny_for,
                escalates_to: a.escalation_targets_for(scope),
                budget: a.budget(),
            });
            policy::evaluate(view.as_ref(), &input)?
        }
    };
    let receipt_id = util::new_id("rcp");
    let resource = req.resource.as_deref();
    let call = confirmations::CallKey {
        authorization_id: &req.authorization_id,
        scope,
        resource,
        session_id: req.session_id.as_deref(),
        arguments_sha256: req.arguments_sha256.as_deref(),
        confirmation_id: req.confirmation_id.as_deref(),
    };
    let answer = match (&eval.outcome, auth) {
        (Outcome::NeedsConfirm { .. }, Some(_)) => stored_answer(w.tx().await?, &call, now, &receipt_id).await?,
        _ => StoredAnswer::None,
    };
    let reason = decide::final_reason(&eval.outcome, auth.is_some(), &answer);
    let ask = match (&eval.outcome, auth) {
        (Outcome::NeedsConfirm { prompt, .. }, Some(a)) if reason.decision() == Decision::Confirm => {
            let hint = decide::prompt_hint(prompt.as_deref(), &a.agent_id, scope, resource);
            let timeout = decide::confirm_timeout(a.confirmation_timeout, at.min_timeout);
            let expires_at = decide::nonce_expires_at(now_t, timeout);
            Some(open_confirmation(w.tx().await?, ws, a, &call, now, expires_at, &receipt_id, hint).await?)
        }
        _ => None,
    };
    let (escalation, escalation_answer) = match (&eval.outcome, auth) {
        (Outcome::NeedsEscalation { targets, reason }, Some(a)) => {
            let timeout = decide::confirm_timeout(a.confirmation_timeout, at.min_timeout);
            let ask = escalation_check::Ask {
                targets,
                reason: *reason,
                expires_at: decide::nonce_expires_at(now_t, timeout),
            };
            escalation_check::inherit_or_open(w.tx().await?, a, &call, &ask, now, &receipt_id).await?
        }
        _ => (None, decide::EscalationAnswer::None),
    };
    let reason = decide::escalation_reason(reason, &escalation_answer);
    let decision = reason.decision();
    let budget = decide::budget_block(auth.and_then(|a| a.budget_limit), eval.spent_before, req.estimate, decision);
    let writes = decide::writes(decision, budget.as_ref(), req.estimate, eval.max_per_day);
    let budget_json = budget.map(|b| serde_json::to_value(b).map_err(ApiError::internal)).transpose()?;
    if let (Some(a), Some(estimate)) = (auth, writes.reserve) {
        db::reserve(w.tx().await?, &a.id, &receipt_id, resource, estimate).await?;
    }
    if let (Some(a), true) = (auth, writes.bump_count) {
        db::bump_count(w.tx().await?, &a.id, scope, day).await?;
    }
    let mut context =
        decide::receipt_context(&req.context, req.session_id.as_deref(), &answer, ask.as_ref(), budget_json.as_ref());
    if let Some(ts) = &req.client_timestamp {
        context.insert("client_timestamp".into(), json!(ts));
    }
    if let Some(e) = &escalation {
        context.insert("escalation_id".into(), json!(e.escalation_id));
        context.insert("escalation_to".into(), json!(e.escalation_to));
    }
    if let decide::EscalationAnswer::Approved { escalation_id } | decide::EscalationAnswer::Rejected { escalation_id } =
        &escalation_answer
    {
        context.insert("escalation_id".into(), json!(escalation_id));
    }
    let site = ReceiptSite { receipt_id: &receipt_id, workspace_id: ws, now, auth, scope, resource };
    signing.store(w, &decide::check_receipt(&site, reason, context, eval.policy_eval.clone())).await?;
    let envelope = receipts::pending_envelope(&receipt_id);
    Ok(decide::scope_result(reason, envelope, ask.as_ref(), escalation.as_ref(), budget, eval.policy_eval))
}

/// The user's answer to this very call, if one is waiting: an approval or a rejection is used here, by this check's
/// receipt, or not at all (each answers one re-check; a later identical call asks again).
async fn stored_answer(
    tx: &mut Tx,
    call: &confirmations::CallKey<'_>,
    now: &str,
    receipt_id: &str,
) -> Result<StoredAnswer, ApiError> {
    let Some(c) = confirmations::matching_decision(tx, call, now).await? else { return Ok(StoredAnswer::None) };
    if !confirmations::consume(tx, &c.id, receipt_id).await? {
        return Ok(StoredAnswer::None);
    }
    Ok(match c.status {
        ConfirmationStatus::Approved => StoredAnswer::Approved { confirmation_id: c.id, resource: c.resource },
        _ => StoredAnswer::Rejected { confirmation_id: c.id },
    })
}

/// Stores a new confirmation (its nonce only as a hash) and its `confirmation.created` event.
#[allow(clippy::too_many_arguments)]
async fn open_confirmation(
    tx: &mut Tx,
    ws: &str,
    auth: &AuthRow,
    call: &confirmations::CallKey<'_>,
    now: &str,
    expires_at: String,
    receipt_id: &str,
    prompt_hint: String,
) -> Result<Ask, ApiError> {
    let scope = call.scope;
    let ask = Ask { confirmation_id: util::new_id("cnf"), nonce: util::random_token(), expires_at, prompt_hint };
    confirmations::create(
        tx,
        &NewConfirmation {
            id: &ask.confirmation_id,
            workspace_id: ws,
            authorization_id: &auth.id,
            nonce_hash: &util::sha256_hex(ask.nonce.as_bytes()),
            scope,
            resource: call.resource,
            now,
            nonce_expires_at: &ask.expires_at,
            check_receipt_id: receipt_id,
            session_id: call.session_id,
            arguments_sha256: call.arguments_sha256,
        },
    )
    .await?;
    let event = decide::confirmation_created(auth, scope, &ask, receipt_id);
    webhooks::enqueue(tx, ws, webhooks::CONFIRMATION_CREATED, event).await?;
    Ok(ask)
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
