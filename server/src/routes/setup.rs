//! Setup routes (setup keys only): API keys, the webhook endpoint, the audit query and the receipt export.
//!
//! Secrets created here (API key text, webhook signing secret) exist in exactly one response. An idempotent replay
//! of `POST /v1/api-keys` returns the same key record without its text, because keeping the text around to replay
//! it would mean storing a usable credential.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body as HttpBody;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::value::RawValue;

use super::Body;
use super::receipts::query_params;
use crate::AppState;
use crate::auth::Setup;
use crate::error::{ApiError, ApiResult, FieldError, WireCode};
use crate::idempotency::{self, IdemKey};
use crate::parse::{self, Fields};
use crate::store::api_keys::{self, RevokeOutcome, Tier};
use crate::store::audit::{self, AuditFilter};
use crate::store::webhooks;
use crate::util;
use crate::wire::{
    ApiKeyCreate, ApiKeyInfo, ApiKeyList, ApiKeyRecord, ApiKeyRevocation, AuditPage, WebhookCreated, WebhookDeleted,
    WebhookEndpoint, WebhookPut,
};

const DEFAULT_AUDIT_LIMIT: i64 = 100;
pub(super) const MAX_AUDIT_LIMIT: i64 = 1000;
const EXPORT_PAGE: i64 = 500;
pub(super) const MAX_NAME: usize = 200;
const MAX_URL: usize = 2048;
/// Events a webhook receives (all of them; there is no per-event subscription yet).
pub const WEBHOOK_EVENTS: [&str; 5] = [
    webhooks::CONFIRMATION_CREATED,
    webhooks::CONFIRMATION_RESOLVED,
    webhooks::CONFIRMATION_EXPIRED,
    webhooks::AUTHORIZATION_REVOKED,
    webhooks::ESCALATION_CREATED,
];

fn key_info(k: api_keys::KeyInfo) -> ApiKeyInfo {
    ApiKeyInfo {
        created_at: k.created_at,
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        revoked_at: k.revoked_at,
        tier: k.tier,
    }
}

/// The body of `POST /v1/api-keys`.
pub(super) fn parse_create_api_key(body: &axum::body::Bytes) -> Result<ApiKeyCreate, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["tier", "name"])?;
    let tier = match f.req_str("tier").as_deref() {
        Some("runtime") => Some(Tier::Runtime),
        Some("setup") => Some(Tier::Setup),
        Some(_) => {
            f.error("tier", "must be \"runtime\" or \"setup\"");
            None
        }
        None => None,
    };
    let name = f.req_str("name");
    if name.as_ref().is_some_and(|n| n.trim().is_empty() || n.chars().count() > MAX_NAME) {
        f.error("name", format!("must be 1-{MAX_NAME} characters"));
    }
    f.finish()?;
    let (Some(tier), Some(name)) = (tier, name) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    Ok(ApiKeyCreate { tier, name })
}

/// `POST /v1/api-keys {tier, name}` → 201 with the key text, shown once.
pub async fn create_api_key(
    State(s): State<Arc<AppState>>,
    who: Setup,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let ApiKeyCreate { tier, name } = parse_create_api_key(&body)?;
    let idem = IdemKey::from_request(&headers, "POST", "/v1/api-keys", &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    let now = util::fmt_ts(util::now());
    let created = api_keys::create(&mut tx, &who.workspace_id, tier, &name, &now).await?;
    let replay = ApiKeyRecord {
        created_at: now,
        id: created.id,
        key: None,
        name,
        prefix: created.key[..created.key.len() - 28].to_string(),
        revoked_at: None,
        tier: tier.as_str().to_string(),
    };
    idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::CREATED, &replay).await?;
    tx.commit().await?;
    let out = ApiKeyRecord { key: Some(created.key), ..replay };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `GET /v1/api-keys`: every key of the workspace, prefixes only.
pub async fn list_api_keys(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<ApiKeyList>> {
    let keys = api_keys::list(s.store.reader(), &who.workspace_id).await?;
    Ok(Json(ApiKeyList { data: keys.into_iter().map(key_info).collect() }))
}

/// `DELETE /v1/api-keys/{id}`: revoked at once; revoking twice answers the first `revoked_at`.
pub async fn revoke_api_key(
    State(s): State<Arc<AppState>>,
    who: Setup,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    parse::no_fields(&body)?;
    let idem = IdemKey::from_request(&headers, "DELETE", &format!("/v1/api-keys/{id}"), &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    let now = util::fmt_ts(util::now());
    let revoked_at = match api_keys::revoke(&mut tx, &who.workspace_id, &id, &now).await? {
        RevokeOutcome::Revoked(at) | RevokeOutcome::AlreadyRevoked(at) => at,
        RevokeOutcome::NotFound => return Err(ApiError::not_found(WireCode::ApiKeyNotFound, "API key")),
        RevokeOutcome::LastSetupKey => {
            return Err(ApiError::conflict(
                WireCode::LastSetupKey,
                "this is the workspace's last live setup key; create another setup key first",
            ));
        }
    };
    let out = ApiKeyRevocation { id, revoked_at };
    idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::OK, &out).await?;
    tx.commit().await?;
    // After the commit: a lookup in between would read the key live and could cache it again.
    s.store.keys().invalidate();
    Ok(Json(out).into_response())
}

/// Checks a webhook URL: absolute http(s), a host, no credentials (they would be stored and shown in the clear).
pub(super) fn check_webhook_url(raw: &str) -> Result<String, String> {
    if raw.len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} bytes"));
    }
    let u = url::Url::parse(raw).map_err(|_| "must be an absolute http or https URL".to_string())?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err("must be an absolute http or https URL".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain credentials".into());
    }
    Ok(u.to_string())
}

/// The body of `PUT /v1/webhook`: the endpoint URL, normalized.
pub(super) fn parse_put_webhook(body: &axum::body::Bytes) -> Result<WebhookPut, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["url"])?;
    let url = f.req_str("url");
    let url = match url.as_deref().map(check_webhook_url) {
        Some(Ok(u)) => Some(u),
        Some(Err(e)) => {
            f.error("url", e);
            None
        }
        None => None,
    };
    f.finish()?;
    url.map(|url| WebhookPut { url }).ok_or_else(|| ApiError::internal("validated field missing"))
}

/// `PUT /v1/webhook {url}` → the signing secret, once. Replacing the endpoint rotates the secret. The URL passes
/// the same SSRF guard as the resolution webhook's (https, public addresses; `--dev` / `--webhook-allow` relax it).
pub async fn put_webhook(State(s): State<Arc<AppState>>, who: Setup, Body(body): Body) -> ApiResult<Response> {
    let WebhookPut { url } = parse_put_webhook(&body)?;
    super::resolution_webhook::guard_url(&s, &url).await?;
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    let now = util::fmt_ts(util::now());
    let mut tx = s.store.begin().await?;
    webhooks::put(&mut tx, &s.master, &who.workspace_id, &url, &secret, &now).await?;
    tx.commit().await?;
    Ok(Json(WebhookCreated {
        created_at: now,
        events: &WEBHOOK_EVENTS,
        signing_secret: format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(secret)),
        url,
    })
    .into_response())
}

/// `GET /v1/webhook`: the endpoint without its secret.
pub async fn get_webhook(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<WebhookEndpoint>> {
    let ep = webhooks::get(s.store.reader(), &who.workspace_id)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::WebhookNotFound, "webhook"))?;
    Ok(Json(WebhookEndpoint {
        created_at: ep.created_at,
        events: &WEBHOOK_EVENTS,
        updated_at: ep.updated_at,
        url: ep.url,
    }))
}

/// `DELETE /v1/webhook`: stops deliveries; queued events are dropped.
pub async fn delete_webhook(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<WebhookDeleted>> {
    let mut tx = s.store.begin().await?;
    let existed = webhooks::delete(&mut tx, &who.workspace_id).await?;
    if !existed {
        return Err(ApiError::not_found(WireCode::WebhookNotFound, "webhook"));
    }
    tx.commit().await?;
    Ok(Json(WebhookDeleted { deleted: true }))
}

/// Reads `name` as an RFC 3339 time and returns it in the stored profile.
fn time_param(p: &HashMap<String, String>, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = p.get(name)?;
    match util::parse_ts(&percent_decode(v)) {
        Some(t) => Some(util::fmt_ts(t)),
        None => {
            errors.push(FieldError::new(name, "must be an RFC 3339 time"));
            None
        }
    }
}

/// Decodes `%XX` and `+` in a query value (`+00:00` offsets arrive encoded).
pub(super) fn percent_decode(v: &str) -> String {
    url::form_urlencoded::parse(format!("v={v}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

pub(super) fn reject_unknown(p: &HashMap<String, String>, allowed: &[&str]) -> Vec<FieldError> {
    let mut unknown: Vec<&String> = p.keys().filter(|k| !allowed.contains(&k.as_str())).collect();
    unknown.sort();
    unknown.into_iter().map(|k| FieldError::new(k, "unknown query parameter")).collect()
}

fn encode_cursor(at: &str, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}|{id}"))
}

fn decode_cursor(c: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    let (at, id) = std::str::from_utf8(&raw).ok()?.split_once('|')?;
    util::parse_ts(at)?;
    Some((at.to_string(), id.to_string()))
}

/// `GET /v1/audit?…`: signed receipts, newest first, with an opaque `next_cursor` while more remain.
pub async fn audit(State(s): State<Arc<AppState>>, who: Setup, RawQuery(q): RawQuery) -> ApiResult<Json<AuditPage>> {
    const ALLOWED: &[&str] = &[
        "user_id",
        "agent_id",
        "authorization_id",
        "run_id",
        "action",
        "decision",
        "since",
        "until",
        "limit",
        "cursor",
    ];
    let p = query_params(q.as_deref());
    let mut errors = reject_unknown(&p, ALLOWED);
    let text = |k: &str| p.get(k).map(|v| percent_decode(v));
    let mut f = AuditFilter {
        user_id: text("user_id"),
        agent_id: text("agent_id"),
        authorization_id: text("authorization_id"),
        run_id: text("run_id"),
        action: text("action"),
        decision: text("decision"),
        since: time_param(&p, "since", &mut errors),
        until: time_param(&p, "until", &mut errors),
        after: None,
    };
    let limit = match p.get("limit").map(|v| v.parse::<i64>()) {
        None => DEFAULT_AUDIT_LIMIT,
        Some(Ok(n)) if (1..=MAX_AUDIT_LIMIT).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new("limit", format!("must be an integer from 1 to {MAX_AUDIT_LIMIT}")));
            0
        }
    };
    if let Some(c) = p.get("cursor") {
        match decode_cursor(c) {
            Some(pos) => f.after = Some(pos),
            None => errors.push(FieldError::new("cursor", "is not a cursor this server issued")),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // One extra row tells whether another page exists without a second query.
    let mut rows = audit::audit(s.store.reader(), &who.workspace_id, &f, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more.then(|| rows.last().map(|r| encode_cursor(&r.issued_at, &r.id))).flatten();
    let data = rows.into_iter().map(|r| RawValue::from_string(r.signed)).collect::<Result<Vec<_>, _>>();
    Ok(Json(AuditPage { data: data.map_err(ApiError::internal)?, next_cursor }))
}

/// `GET /v1/receipts/export?since&until`: JSON Lines of signed receipts, oldest first, streamed page by page so an
/// export of any size holds one page in memory.
pub async fn export(State(s): State<Arc<AppState>>, who: Setup, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let p = query_params(q.as_deref());
    let mut errors = reject_unknown(&p, &["since", "until"]);
    let since = time_param(&p, "since", &mut errors);
    let until = time_param(&p, "until", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // The first page is read before answering, so a database error is still a proper error envelope.
    let first =
        audit::export_page(s.store.reader(), &who.workspace_id, since.as_deref(), until.as_deref(), None, EXPORT_PAGE)
            .await?;
    struct Cursor {
        s: Arc<AppState>,
        ws: String,
        since: Option<String>,
        until: Option<String>,
        page: Option<Vec<audit::SignedRow>>,
        done: bool,
    }
    let start = Cursor { s, ws: who.workspace_id, since, until, page: Some(first), done: false };
    let stream = futures_util::stream::unfold(start, |mut c| async move {
        if c.done {
            return None;
        }
        let rows = match c.page.take() {
            Some(rows) => rows,
            None => unreachable!("a page is always loaded before yielding"),
        };
        let mut chunk = Vec::with_capacity(rows.iter().map(|r| r.signed.len() + 1).sum());
        for r in &rows {
            chunk.extend_from_slice(r.signed.as_bytes());
            chunk.push(b'\n');
        }
        if (rows.len() as i64) < EXPORT_PAGE {
            c.done = true;
        } else {
            let last = rows.last().map(|r| (r.issued_at.clone(), r.id.clone()));
            let next = audit::export_page(
                c.s.store.reader(),
                &c.ws,
                c.since.as_deref(),
                c.until.as_deref(),
                last.as_ref(),
                EXPORT_PAGE,
            )
            .await;
            match next {
                Ok(rows) => c.page = Some(rows),
                Err(e) => {
                    // Headers are gone; cutting the stream short is the only honest signal left.
                    tracing::error!(error = %e, "export page failed");
                    c.done = true;
                    return Some((Err(std::io::Error::other("export interrupted")), c));
                }
            }
        }
        Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)), c))
    });
    let mut resp = HttpBody::from_stream(stream).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(resp)
}
