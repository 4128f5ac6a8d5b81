//! The HTTP surface: router, body extraction with the 64 KiB limit, and the small routes (health, key document,
//! key rotation). Every rejection is the wire-v1 envelope — including unknown routes and wrong methods.

mod authorizations;
mod check;
mod confirmations;
mod receipts;
mod settlements;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth::Setup;
use crate::error::{ApiError, ApiResult};
use crate::parse::MAX_BODY;
use crate::store::signing_keys;
use crate::util;

pub use receipts::wait_signed;

/// The request body, read up to 64 KiB; anything larger is a 413 envelope.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(ApiError::payload_too_large());
        }
        axum::body::to_bytes(req.into_body(), MAX_BODY).await.map(Body).map_err(|_| ApiError::payload_too_large())
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    // Spans name the route template, never the concrete path: confirmation nonces travel in the path.
    let trace = TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
        let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
        tracing::info_span!("request", method = %req.method(), route = %route)
    });
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/authorizations", post(authorizations::create))
        .route("/v1/authorizations/{id}", get(authorizations::get_one).delete(authorizations::revoke))
        .route("/v1/check", post(check::check))
        .route("/v1/confirmations/{id}", post(confirmations::resolve).get(confirmations::get_one))
        .route("/v1/budget-settlements", post(settlements::settle))
        .route("/v1/receipts/{id}", get(receipts::get_one))
        .route("/v1/workspaces/{id}/keys", get(key_document))
        .route("/v1/signing-keys/rotate", post(rotate))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
        })
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(45)))
        .layer(trace)
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    let db = s.store.ping().await;
    let signer = s.signer.is_running();
    let body =
        Json(json!({"status": if db && signer { "ready" } else { "unavailable" }, "database": db, "signer": signer}));
    if db && signer {
        (StatusCode::OK, body).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

/// `GET /v1/workspaces/{id}/keys`: public, cacheable, every key ever used (retired ones keep `active_until`).
async fn key_document(State(s): State<Arc<AppState>>, Path(ws): Path<String>) -> ApiResult<Response> {
    let doc = signing_keys::key_document(s.store.reader(), &ws)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace_not_found", "workspace"))?;
    let mut resp = Json(doc).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    Ok(resp)
}

/// `POST /v1/signing-keys/rotate` (setup key): a new key active now; the old one is retired at the same instant.
async fn rotate(
    State(s): State<Arc<AppState>>,
    who: Setup,
    headers: axum::http::HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    if !body.iter().all(u8::is_ascii_whitespace) {
        crate::parse::Fields::new(crate::parse::object(&body, true)?, &[])?.finish()?;
    }
    let idem = crate::idempotency::IdemKey::from_request(&headers, "POST", "/v1/signing-keys/rotate", &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = crate::idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    signing_keys::lock_for_rotation(&mut tx).await?;
    let now = util::fmt_ts(util::now());
    let key_id = signing_keys::create(&mut tx, &s.master, &who.workspace_id, &now).await?;
    let out = json!({"key_id": key_id, "active_from": now, "workspace_id": who.workspace_id});
    crate::idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::OK, &out).await?;
    tx.commit().await?;
    s.signer.keys_changed();
    Ok(Json(out).into_response())
}
