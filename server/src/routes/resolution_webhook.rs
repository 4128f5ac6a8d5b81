//! `/v1/setup/resolution-webhook` (setup keys only), as 0.8.0's `client.resolution_webhook` calls it: configure
//! (`PUT {url}`), read (`GET`), rotate the secret (`POST …/rotate`), disable (`DELETE`) and the delivery log
//! (`GET …/deliveries`).
//!
//! A secret exists in exactly one answer (configure or rotate) and is stored sealed; reads never carry it. Every
//! configure or rotate starts a new credential version and cancels what older versions still had queued, so a
//! receiver is never sent an event signed with a secret its operator replaced. The URL passes the SSRF guard here
//! and again on every delivery (`crate::webhook_guard`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use base64::Engine as _;

use super::Body;
use crate::AppState;
use crate::auth::Setup;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::parse::{self, Fields};
use crate::store::resolution_webhooks::{self as db, Endpoint};
use crate::util;
use crate::wire::{
    ResolutionWebhookConfig, ResolutionWebhookDeliveries, ResolutionWebhookDelivery, ResolutionWebhookPut,
    ResolutionWebhookSecret,
};

fn config(workspace_id: &str, ep: Option<Endpoint>) -> ResolutionWebhookConfig {
    match ep {
        None => ResolutionWebhookConfig {
            created_at: None,
            credential_version: None,
            enabled: false,
            endpoint_id: None,
            updated_at: None,
            url: None,
            workspace_id: workspace_id.to_string(),
        },
        Some(ep) => ResolutionWebhookConfig {
            created_at: Some(ep.created_at),
            credential_version: Some(ep.credential_version),
            enabled: ep.enabled,
            endpoint_id: Some(ep.endpoint_id),
            updated_at: Some(ep.updated_at),
            url: Some(ep.url),
            workspace_id: workspace_id.to_string(),
        },
    }
}

fn with_secret(c: ResolutionWebhookConfig, secret: &[u8]) -> ResolutionWebhookSecret {
    ResolutionWebhookSecret {
        created_at: c.created_at,
        credential_version: c.credential_version,
        enabled: c.enabled,
        endpoint_id: c.endpoint_id,
        signing_secret: format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(secret)),
        updated_at: c.updated_at,
        url: c.url,
        workspace_id: c.workspace_id,
    }
}

fn new_secret() -> [u8; 32] {
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    secret
}

/// The body of `PUT /v1/setup/resolution-webhook`: the URL, normalized (shape only; the guard runs in the handler).
pub(super) fn parse_put(body: &axum::body::Bytes) -> Result<ResolutionWebhookPut, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["url"])?;
    let url = match f.req_str("url").as_deref().map(super::setup::check_webhook_url) {
        Some(Ok(u)) => Some(u),
        Some(Err(e)) => {
            f.error("url", e);
            None
        }
        None => None,
    };
    f.finish()?;
    url.map(|url| ResolutionWebhookPut { url }).ok_or_else(|| ApiError::internal("validated field missing"))
}

/// Refuses a URL the SSRF guard does not allow, as a 422 on `url` naming the problem (nothing stored).
pub(super) async fn guard_url(s: &AppState, url: &str) -> Result<(), ApiError> {
    let parsed = url::Url::parse(url).map_err(|_| ApiError::field(WireCode::ValidationError, "url", "is not a URL"))?;
    s.webhook_guard
        .check_url(&parsed)
        .await
        .map_err(|r| ApiError::field(WireCode::ValidationError, "url", r.to_string()))
}

/// `GET /v1/setup/resolution-webhook`.
pub async fn get(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<ResolutionWebhookConfig>> {
    let ep = db::get(s.store.reader(), &who.workspace_id).await?;
    Ok(Json(config(&who.workspace_id, ep)))
}

/// `PUT /v1/setup/resolution-webhook {url}`: creates, re-points or re-enables the endpoint with a new secret.
pub async fn put(
    State(s): State<Arc<AppState>>,
    who: Setup,
    Body(body): Body,
) -> ApiResult<Json<ResolutionWebhookSecret>> {
    let ResolutionWebhookPut { url } = parse_put(&body)?;
    guard_url(&s, &url).await?;
    let secret = new_secret();
    let now = util::fmt_ts(util::now());
    let mut tx = s.store.begin().await?;
    let ep = db::put_secret(&mut tx, &s.master, &who.workspace_id, Some(&url), &secret, &now).await?;
    tx.commit().await?;
    Ok(Json(with_secret(config(&who.workspace_id, ep), &secret)))
}

/// `POST /v1/setup/resolution-webhook/rotate`: a new secret for the same URL; 404 when none is configured.
pub async fn rotate(
    State(s): State<Arc<AppState>>,
    who: Setup,
    Body(body): Body,
) -> ApiResult<Json<ResolutionWebhookSecret>> {
    parse::no_fields(&body)?;
    let secret = new_secret();
    let now = util::fmt_ts(util::now());
    let mut tx = s.store.begin().await?;
    let ep = db::put_secret(&mut tx, &s.master, &who.workspace_id, None, &secret, &now)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::ResolutionWebhookNotConfigured, "resolution webhook"))?;
    tx.commit().await?;
    Ok(Json(with_secret(config(&who.workspace_id, Some(ep)), &secret)))
}

/// `DELETE /v1/setup/resolution-webhook`: disabled (idempotent; a workspace without one gets the empty config).
pub async fn disable(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<ResolutionWebhookConfig>> {
    let now = util::fmt_ts(util::now());
    let mut tx = s.store.begin().await?;
    let ep = db::disable(&mut tx, &who.workspace_id, &now).await?;
    tx.commit().await?;
    Ok(Json(config(&who.workspace_id, ep)))
}

/// `GET /v1/setup/resolution-webhook/deliveries`: the newest 20 deliveries, without payloads, URLs or secrets.
pub async fn deliveries(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<ResolutionWebhookDeliveries>> {
    let rows = db::log(s.store.reader(), &who.workspace_id).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let cancelled = matches!(r.last_error.as_deref(), Some("endpoint_disabled" | "endpoint_changed"));
            ResolutionWebhookDelivery {
                attempts: r.attempts,
                created_at: r.created_at,
                delivered_at: r.delivered_at,
                event_id: r.id,
                event_type: r.event_type,
                last_error: r.last_error,
                status: match r.status.as_str() {
                    "delivered" => "delivered",
                    "pending" => "pending",
                    _ if cancelled => "cancelled",
                    _ => "failed",
                },
            }
        })
        .collect();
    Ok(Json(ResolutionWebhookDeliveries { items }))
}
