//! The body of the `server_body` fuzz target (`fuzz/`), kept here so `cargo test` replays it over the committed seeds
//! and crash reproducers on stable Rust (`server/tests/fuzz_replay.rs`). Not a stable API.
//!
//! It feeds bytes to the exact parsers the POST/PUT/DELETE handlers run before they touch the database. Those parsers
//! decide alone whether a body is acceptable, so a panic or a non-4xx error here is a 5xx or a dropped connection in
//! production, and a body they accept with out-of-range values reaches the store.

use allowly_core::model::{MAX_CONTEXT_BYTES, MAX_SCOPES_PER_CHECK};
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;

use super::{authorizations, check, confirmations, escalations, members, settlements, setup};
use crate::error::ApiError;
use crate::parse::{self, MAX_SAFE_INT};
use crate::util;

/// Every request body the server parses, in the order the first input byte selects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Check,
    CreateAuthorization,
    RevokeAuthorization,
    ResolveConfirmation,
    Settle,
    CreateApiKey,
    PutWebhook,
    /// `POST /v1/signing-keys/rotate` and `DELETE /v1/api-keys/{id}`: no fields.
    NoFields,
    CreateMember,
    ResolveEscalation,
}

impl Route {
    /// New routes go last, so the selector byte of every committed seed keeps reaching the same parser.
    pub const ALL: [Route; 10] = [
        Route::Check,
        Route::CreateAuthorization,
        Route::RevokeAuthorization,
        Route::ResolveConfirmation,
        Route::Settle,
        Route::CreateApiKey,
        Route::PutWebhook,
        Route::NoFields,
        Route::CreateMember,
        Route::ResolveEscalation,
    ];

    /// The selector byte a seed file starts with to reach this route.
    pub fn selector(self) -> u8 {
        Route::ALL.iter().position(|r| *r == self).expect("listed") as u8
    }
}

/// Runs one route's parser and checks what it accepted; returns the error it answered with.
pub fn parse_body(route: Route, body: &[u8]) -> Result<(), ApiError> {
    let body = Bytes::copy_from_slice(body);
    match route {
        Route::Check => {
            let req = check::parse_check(&body)?;
            assert!(!req.authorization_id.is_empty(), "empty authorization_id accepted");
            assert!(
                (1..=MAX_SCOPES_PER_CHECK).contains(&req.scopes.len()),
                "scope count {} accepted",
                req.scopes.len()
            );
            assert!(req.scopes.iter().all(|s| !s.is_empty()), "empty scope accepted");
            for (i, s) in req.scopes.iter().enumerate() {
                assert!(!req.scopes[..i].contains(s), "duplicate scope accepted");
            }
            let ctx = Value::Object(req.context.clone());
            assert!(parse::json_size(&ctx) <= MAX_CONTEXT_BYTES, "oversized context accepted");
            assert!(parse::receipt_safe(&ctx, "context").is_ok(), "context a receipt cannot carry accepted");
            assert!(!req.context.contains_key("budget") && !req.context.contains_key("session_id"));
            assert!(req.estimate.is_none_or(|e| (0..=MAX_SAFE_INT).contains(&e)), "estimate out of range");
            let _ = (&req.resource, &req.session_id);
        }
        Route::CreateAuthorization => {
            let now = util::now();
            let req = authorizations::parse_create(&body, "ws_fuzz", now)?;
            let row = &req.row;
            assert!(!row.user_id.is_empty() && !row.agent_id.is_empty(), "empty identity accepted");
            assert!(row.budget_limit.is_none_or(|b| b > 0 && b <= MAX_SAFE_INT), "budget out of range");
            assert!(util::parse_ts(&row.expires_at).is_some_and(|t| t > now), "expiry not in the future accepted");
            assert!(parse::json_size(&row.metadata) <= 4096, "oversized metadata accepted");
            for scope in
                row.requires_confirm_for.iter().chain(&row.requires_deny_for).chain(&row.requires_escalation_for)
            {
                assert!(row.grants.iter().any(|g| &g.name == scope), "{scope:?} is required but not granted");
            }
            for scope in &row.requires_escalation_for {
                let targets = row.escalation_targets_for(scope).unwrap_or_default();
                assert!((1..=2).contains(&targets.len()), "{scope:?} escalates to {} members", targets.len());
                assert!(!row.requires_confirm_for.contains(scope), "{scope:?} both confirms and escalates");
            }
            let _ = &req.replaces;
        }
        Route::RevokeAuthorization => {
            let req = authorizations::parse_revoke(&body)?;
            assert!(!req.revoked_by.is_empty(), "empty revoked_by accepted");
            let _ = (&req.notes, &req.superseded_by);
        }
        Route::ResolveConfirmation => {
            let (_, ttl) = confirmations::parse_resolve(&body)?;
            assert!((confirmations::MIN_TTL..=confirmations::MAX_TTL).contains(&ttl), "ttl {ttl} not clamped");
        }
        Route::Settle => {
            let (receipt_id, actual) = settlements::parse_settle(&body)?;
            assert!(!receipt_id.is_empty(), "empty check_receipt_id accepted");
            assert!((0..=MAX_SAFE_INT).contains(&actual), "actual cost {actual} accepted");
        }
        Route::CreateApiKey => {
            let name = setup::parse_create_api_key(&body)?.name;
            assert!(!name.trim().is_empty() && name.chars().count() <= setup::MAX_NAME, "bad key name accepted");
        }
        Route::PutWebhook => {
            let url = setup::parse_put_webhook(&body)?.url;
            assert!(url.starts_with("http://") || url.starts_with("https://"), "non-http webhook accepted");
        }
        Route::NoFields => parse::no_fields(&body)?,
        Route::CreateMember => {
            let req = members::parse_create(&body)?;
            assert!(allowly_core::model::validate_member_id("member_id", &req.member_id).is_ok(), "bad id accepted");
        }
        Route::ResolveEscalation => {
            let req = escalations::parse_resolve(&body)?;
            assert!(req.note.is_none_or(|n| n.chars().count() <= 1000), "oversized note accepted");
            let _ = (req.approved, req.resolved_by);
        }
    }
    Ok(())
}

/// The longest field name an error may echo (`FieldError::new`): field names can come from the request.
pub const MAX_ECHOED_FIELD: usize = 64;

/// Checks that an error is a client error answered with exactly the wire-v1 envelope.
pub fn assert_envelope(err: &ApiError) {
    assert!(err.status.is_client_error(), "a request body produced {} ({})", err.status, err.code);
    assert!(
        !err.code.as_str().is_empty() && err.code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "error code {:?} is not snake_case",
        err.code
    );
    assert!(!err.message.is_empty(), "error {} has no message", err.code);
    if err.status.as_u16() == 422 {
        assert!(!err.fields.is_empty(), "a 422 must name the field ({})", err.code);
    }
    for f in &err.fields {
        // A member may be named "" (fuzz/regressions/server_body/empty-member-name): then the truthful echo is "".
        assert!(!f.message.is_empty(), "field error without a message in {}", err.code);
        assert!(!f.field.is_empty() || err.code == "unknown_field", "unnamed field error in {}", err.code);
        assert!(f.field.chars().count() <= MAX_ECHOED_FIELD, "field name of {} chars echoed", f.field.chars().count());
    }
    let body = err.body();
    let top = body.as_object().expect("envelope is an object");
    assert_eq!(top.len(), 1, "envelope has members besides error");
    let inner = top["error"].as_object().expect("error is an object");
    let mut names: Vec<&str> = inner.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["code", "fields", "message"]);
    assert!(inner["code"].is_string() && inner["message"].is_string());
    for f in inner["fields"].as_array().expect("fields is a list") {
        let f = f.as_object().expect("field error is an object");
        assert!(f.len() == 2 && f["field"].is_string() && f["message"].is_string(), "bad field error {f:?}");
    }
    let resp = err.clone().into_response();
    assert_eq!(resp.status(), err.status);
    let ct = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    assert_eq!(ct, Some("application/json"), "error response is not JSON");
}

/// Target `server_body`: the first byte picks the route, the rest is the body. No panic; every rejection is a 4xx
/// wire-v1 envelope; whatever is accepted satisfies the route's documented limits.
pub fn server_body(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else { return };
    let route = Route::ALL[pick as usize % Route::ALL.len()];
    if let Err(e) = parse_body(route, body) {
        assert_envelope(&e);
    }
}
