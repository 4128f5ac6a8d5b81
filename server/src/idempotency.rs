//! `Idempotency-Key` handling for every POST/DELETE.
//!
//! The request fingerprint is SHA-256 over method, path and raw body, so the same key reused for another route or
//! another body is a 409 `idempotency_conflict`. Lookup and save happen inside the route's write transaction (see
//! `store::idempotency`), and only successful responses are saved: an error stores nothing, as wire-v1 requires.

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, WireCode};
use crate::store::{Tx, idempotency as db};
use crate::util;

pub const HEADER: &str = "idempotency-key";

/// A request's idempotency key and fingerprint. `Debug` leaves the key out (clients may put secrets in it).
pub struct IdemKey {
    key: String,
    hash: String,
}

impl std::fmt::Debug for IdemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdemKey(..)")
    }
}

impl IdemKey {
    /// Reads the optional header; 422 when it is present but empty, over 255 bytes or not visible ASCII.
    pub fn from_request(headers: &HeaderMap, method: &str, path: &str, body: &Bytes) -> Result<Option<Self>, ApiError> {
        let Some(v) = headers.get(HEADER) else { return Ok(None) };
        let key = v
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::field(WireCode::ValidationError, "Idempotency-Key", "must be 1-255 visible ASCII characters")
            })?;
        let mut material = Vec::with_capacity(body.len() + path.len() + 16);
        material.extend_from_slice(method.as_bytes());
        material.push(0);
        material.extend_from_slice(path.as_bytes());
        material.push(0);
        material.extend_from_slice(body);
        Ok(Some(Self { key: key.to_string(), hash: util::sha256_hex(&material) }))
    }
}

/// Returns the stored response for a replay, a 409 for a conflicting reuse, or `None` to execute the request.
pub async fn replay(tx: &mut Tx, workspace_id: &str, idem: Option<&IdemKey>) -> Result<Option<Response>, ApiError> {
    Ok(replay_value(tx, workspace_id, idem).await?.map(|(status, body)| (status, Json(body)).into_response()))
}

/// Like [`replay`], returning the stored status and body.
pub async fn replay_value(
    tx: &mut Tx,
    workspace_id: &str,
    idem: Option<&IdemKey>,
) -> Result<Option<(StatusCode, serde_json::Value)>, ApiError> {
    let Some(idem) = idem else { return Ok(None) };
    match db::lookup(tx, workspace_id, &idem.key, &idem.hash).await? {
        db::Replay::Fresh => Ok(None),
        db::Replay::Conflict => Err(ApiError::conflict(
            WireCode::IdempotencyConflict,
            "this Idempotency-Key was already used with a different request",
        )),
        db::Replay::Hit { status, body } => {
            let value: serde_json::Value = serde_json::from_str(&body).map_err(ApiError::internal)?;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(Some((status, value)))
        }
    }
}

/// Saves a successful response under the key (same transaction as the side effects).
///
/// The text stored is the body's own serialization; a replay reads it back as a `Value`, which answers the members
/// sorted — the same bytes, because every response body declares its fields sorted (see [`crate::wire`]).
pub async fn save<T: serde::Serialize>(
    tx: &mut Tx,
    workspace_id: &str,
    idem: Option<&IdemKey>,
    status: StatusCode,
    body: &T,
) -> Result<(), ApiError> {
    if let Some(idem) = idem {
        db::save(tx, workspace_id, &idem.key, &idem.hash, status.as_u16(), &crate::wire::to_text(body)).await?;
    }
    Ok(())
}
