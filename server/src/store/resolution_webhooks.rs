//! The resolution webhook endpoint (one per workspace) and its view of the shared delivery outbox.
//!
//! Its deliveries are rows of `webhook_deliveries` with `channel = 'resolution'`, drained by the same task as the
//! generic webhook's (`crate::webhooks`). Each row is pinned to the `credential_version` it was queued under: a new
//! URL, a rotation or a disable cancels the older rows in the same transaction, so a receiver never gets an event
//! signed with a secret its operator already replaced.

use sqlx::Row as _;

use super::{Pool, Tx};
use crate::crypto::MasterKey;
use crate::util;

/// The channel name of resolution deliveries in `webhook_deliveries`.
pub const CHANNEL: &str = "resolution";
/// The two event types 0.8.0's `verify_resolution_webhook` accepts.
pub const CONFIRMATION_RESOLVED: &str = "confirmation.resolved";
pub const ESCALATION_RESOLVED: &str = "escalation.resolved";
/// How many deliveries the log lists (0.8.0 refuses more).
pub const LOG_LIMIT: i64 = 20;

fn aad(workspace_id: &str, version: i64) -> String {
    format!("resolution-webhook:{workspace_id}:{version}")
}

/// The configured endpoint (the secret stays sealed until a delivery needs it).
#[derive(Clone)]
pub struct Endpoint {
    pub endpoint_id: String,
    pub url: String,
    pub enabled: bool,
    pub credential_version: i64,
    pub created_at: String,
    pub updated_at: String,
    sealed: Vec<u8>,
    nonce: Vec<u8>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("endpoint_id", &self.endpoint_id)
            .field("url", &self.url)
            .field("enabled", &self.enabled)
            .field("credential_version", &self.credential_version)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The raw HMAC key bytes of the current credential version.
    pub fn secret(&self, master: &MasterKey, workspace_id: &str) -> Result<Vec<u8>, String> {
        master.open(&self.sealed, &self.nonce, &aad(workspace_id, self.credential_version))
    }
}

const COLUMNS: &str =
    "endpoint_id, url, enabled, credential_version, sealed_secret, seal_nonce, created_at, updated_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Endpoint, sqlx::Error> {
    let enabled: i64 = r.try_get("enabled")?;
    Ok(Endpoint {
        endpoint_id: r.try_get("endpoint_id")?,
        url: r.try_get("url")?,
        enabled: enabled != 0,
        credential_version: r.try_get("credential_version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        sealed: r.try_get("sealed_secret")?,
        nonce: r.try_get("seal_nonce")?,
    })
}

pub async fn get(pool: &Pool, workspace_id: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM resolution_webhooks WHERE workspace_id = $1"))
        .bind(workspace_id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

async fn get_tx(tx: &mut Tx, workspace_id: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM resolution_webhooks WHERE workspace_id = $1"))
        .bind(workspace_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks the workspace's pending resolution deliveries older than `version` (all of them for `None`) as failed with
/// `reason` (`endpoint_changed`, `endpoint_disabled`): the delivery log shows them as cancelled.
async fn cancel_pending(tx: &mut Tx, workspace_id: &str, below: Option<i64>, reason: &str) -> Result<(), sqlx::Error> {
    let mut sql = "UPDATE webhook_deliveries SET status = 'failed', last_error = $1 WHERE workspace_id = $2 \
                   AND channel = $3 AND status = 'pending'"
        .to_string();
    if below.is_some() {
        sql.push_str(" AND credential_version < $4");
    }
    let mut q = sqlx::query(&sql).bind(reason).bind(workspace_id).bind(CHANNEL);
    if let Some(v) = below {
        q = q.bind(v);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Writes `secret` as the next credential version, with `url` (a new URL) or the current one (a rotation), enabled
/// when `url` is given. Returns `None` when rotating a workspace that has no endpoint.
pub async fn put_secret(
    tx: &mut Tx,
    master: &MasterKey,
    workspace_id: &str,
    url: Option<&str>,
    secret: &[u8],
    now: &str,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let current = get_tx(tx, workspace_id).await?;
    let version = current.as_ref().map_or(1, |c| c.credential_version + 1);
    let (sealed, nonce) = master
        .seal(secret, &aad(workspace_id, version))
        .map_err(|e| sqlx::Error::Protocol(format!("resolution webhook secret: {e}")))?;
    match (&current, url) {
        (None, None) => return Ok(None),
        (None, Some(url)) => {
            sqlx::query(
                "INSERT INTO resolution_webhooks (workspace_id, endpoint_id, url, enabled, credential_version, \
                 sealed_secret, seal_nonce, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $7)",
            )
            .bind(workspace_id)
            .bind(util::new_id("rwh"))
            .bind(url)
            .bind(version)
            .bind(sealed)
            .bind(nonce)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        (Some(c), url) => {
            let enabled = url.is_some() || c.enabled;
            sqlx::query(
                "UPDATE resolution_webhooks SET url = $1, enabled = $2, credential_version = $3, sealed_secret = $4, \
                 seal_nonce = $5, updated_at = $6 WHERE workspace_id = $7",
            )
            .bind(url.unwrap_or(&c.url))
            .bind(i64::from(enabled))
            .bind(version)
            .bind(sealed)
            .bind(nonce)
            .bind(now)
            .bind(workspace_id)
            .execute(&mut **tx)
            .await?;
            cancel_pending(tx, workspace_id, Some(version), "endpoint_changed").await?;
        }
    }
    get_tx(tx, workspace_id).await
}

/// Disables the endpoint (kept, so its id and version survive a later re-enable) and cancels what is queued.
pub async fn disable(tx: &mut Tx, workspace_id: &str, now: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE resolution_webhooks SET enabled = 0, updated_at = $1 WHERE workspace_id = $2 AND enabled = 1",
    )
    .bind(now)
    .bind(workspace_id)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() > 0 {
        cancel_pending(tx, workspace_id, None, "endpoint_disabled").await?;
    }
    get_tx(tx, workspace_id).await
}

/// Enqueues a resolution event for the workspace's enabled endpoint, if any, inside the decision's transaction.
/// The payload is 0.8.0's: ids and the recorded choice only, never who decided or what was checked.
pub async fn enqueue(
    tx: &mut Tx,
    workspace_id: &str,
    event_type: &'static str,
    data: crate::wire::ResolutionEventData,
) -> Result<bool, sqlx::Error> {
    let id = util::new_id("evt");
    let now = util::fmt_ts(util::now());
    let payload = crate::wire::to_text(&crate::wire::ResolutionEvent {
        data,
        id: &id,
        timestamp: &now,
        event_type,
        workspace_id,
    });
    let r = sqlx::query(
        "INSERT INTO webhook_deliveries (id, workspace_id, event_type, payload, status, attempts, next_attempt_at, \
         created_at, channel, credential_version) SELECT $1, workspace_id, $2, $3, 'pending', 0, $4, $4, $5, \
         credential_version FROM resolution_webhooks WHERE workspace_id = $6 AND enabled = 1",
    )
    .bind(&id)
    .bind(event_type)
    .bind(payload)
    .bind(&now)
    .bind(CHANNEL)
    .bind(workspace_id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// One entry of the delivery log.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub last_error: Option<String>,
}

/// The newest [`LOG_LIMIT`] resolution deliveries of the workspace, newest first.
pub async fn log(pool: &Pool, workspace_id: &str) -> Result<Vec<LogRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, event_type, status, attempts, created_at, delivered_at, last_error FROM webhook_deliveries \
         WHERE workspace_id = $1 AND channel = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(workspace_id)
    .bind(CHANNEL)
    .bind(LOG_LIMIT)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LogRow {
                id: r.try_get("id")?,
                event_type: r.try_get("event_type")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                created_at: r.try_get("created_at")?,
                delivered_at: r.try_get("delivered_at")?,
                last_error: r.try_get("last_error")?,
            })
        })
        .collect()
}
