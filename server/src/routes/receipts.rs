//! `GET /v1/receipts/{id}[?wait_ms=N]` and the long-poll helper shared with `check?wait=true`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use tokio::time::Instant;

use crate::AppState;
use crate::auth::Runtime;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::store::receipts::{self, Lookup};
use crate::wire::ReceiptEnvelope;

/// Longest `wait_ms` honoured.
pub const MAX_WAIT_MS: u64 = 30_000;

/// Parses a query string into its (last-wins) parameters.
pub fn query_params(raw: Option<&str>) -> HashMap<String, String> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

/// Waits until the receipt is signed or `deadline` passes; returns its final lookup.
pub async fn wait_signed(
    s: &AppState,
    workspace_id: &str,
    receipt_id: &str,
    deadline: Instant,
) -> Result<Lookup, ApiError> {
    let mut rx = s.signer.subscribe();
    loop {
        // Mark the current generation seen *before* reading, so a batch signed after the read wakes us.
        rx.borrow_and_update();
        let found = receipts::get(s.store.reader(), workspace_id, receipt_id).await?;
        if !matches!(found, Lookup::Pending) {
            return Ok(found);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(found);
        }
        // Only waiting is left: a long poll must not hold an in-progress slot while the signer works.
        crate::admission::release_slot();
        // The signer polls at least every 250 ms; cap each sleep so a missed wake-up costs little.
        let step = (deadline - now).min(Duration::from_millis(500));
        let _ = tokio::time::timeout(step, rx.changed()).await;
    }
}

pub async fn get_one(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<ReceiptEnvelope>> {
    let params = query_params(q.as_deref());
    let wait_ms = match params.get("wait_ms") {
        None => 0,
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| ApiError::field(WireCode::ValidationError, "wait_ms", "must be a non-negative integer"))?
            .min(MAX_WAIT_MS),
    };
    let deadline = Instant::now() + Duration::from_millis(wait_ms);
    let found = wait_signed(&s, &who.workspace_id, &id, deadline).await?;
    found.envelope(&id).map(Json).ok_or_else(|| ApiError::not_found(WireCode::ReceiptNotFound, "receipt"))
}
