//! Webhook endpoints and the delivery outbox.
//!
//! Events are enqueued with [`enqueue`] inside the transaction of the decision they report (a rolled-back decision
//! never notifies; a committed one always does, even if the process dies before delivery). The enqueue is one
//! `INSERT … SELECT` against the workspace's endpoint, so a workspace without a webhook pays one indexed read.
//! The delivery task leases due rows by moving `next_attempt_at` forward with a conditional update, so several server
//! processes sharing a database never deliver the same attempt twice.

use sqlx::Row as _;

use super::{Pool, Store, Tx};
use crate::crypto::MasterKey;
use crate::util;

/// The event types of the generic webhook (wire-v1).
pub const CONFIRMATION_CREATED: &str = "confirmation.created";
pub const ESCALATION_CREATED: &str = "escalation.created";
pub const ESCALATION_RESOLVED: &str = "escalation.resolved";
pub const ESCALATION_EXPIRED: &str = "escalation.expired";
pub const CONFIRMATION_EXPIRED: &str = "confirmation.expired";
pub const CONFIRMATION_RESOLVED: &str = "confirmation.resolved";
pub const AUTHORIZATION_REVOKED: &str = "authorization.revoked";

/// How long a leased delivery stays invisible to other workers before it can be retried after a crash.
pub const LEASE_SECONDS: i64 = 60;

fn aad(workspace_id: &str) -> String {
    format!("webhook:{workspace_id}")
}

/// A configured endpoint (the secret stays sealed until a delivery needs it).
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    pub created_at: String,
    pub updated_at: String,
    sealed: Vec<u8>,
    nonce: Vec<u8>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The raw HMAC key bytes.
    pub fn secret(&self, master: &MasterKey, workspace_id: &str) -> Result<Vec<u8>, String> {
        master.open(&self.sealed, &self.nonce, &aad(workspace_id))
    }
}

/// Creates or replaces the workspace's endpoint with a fresh secret (returned raw, once).
pub async fn put(
    tx: &mut Tx,
    master: &MasterKey,
    workspace_id: &str,
    url: &str,
    secret: &[u8],
    now: &str,
) -> Result<(), sqlx::Error> {
    let (sealed, nonce) =
        master.seal(secret, &aad(workspace_id)).map_err(|e| sqlx::Error::Protocol(format!("webhook secret: {e}")))?;
    sqlx::query("DELETE FROM webhooks WHERE workspace_id = $1").bind(workspace_id).execute(&mut **tx).await?;
    sqlx::query(
        "INSERT INTO webhooks (workspace_id, url, sealed_secret, seal_nonce, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(workspace_id)
    .bind(url)
    .bind(sealed)
    .bind(nonce)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes the endpoint; undelivered events of the workspace are dropped with it (there is nowhere to send them).
pub async fn delete(tx: &mut Tx, workspace_id: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM webhooks WHERE workspace_id = $1").bind(workspace_id).execute(&mut **tx).await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint_gone' WHERE workspace_id = $1 \
         AND channel = 'webhook' AND status = 'pending'",
    )
    .bind(workspace_id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn get(pool: &Pool, workspace_id: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT url, sealed_secret, seal_nonce, created_at, updated_at FROM webhooks WHERE workspace_id = $1",
    )
    .bind(workspace_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Endpoint {
            url: r.try_get("url")?,
            sealed: r.try_get("sealed_secret")?,
            nonce: r.try_get("seal_nonce")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}

/// Enqueues `event_type` with `data` for the workspace's endpoint, if it has one. Returns whether a row was queued.
///
/// `data` must hold ids, scope and reason only — never check context values (wire-v1).
pub async fn enqueue<T: serde::Serialize>(
    tx: &mut Tx,
    workspace_id: &str,
    event_type: &str,
    data: T,
) -> Result<bool, sqlx::Error> {
    let id = util::new_id("msg");
    let now = util::fmt_ts(util::now());
    let payload =
        crate::wire::to_text(&crate::wire::WebhookEvent { data, id: &id, timestamp: &now, event_type, workspace_id });
    let r = sqlx::query(
        "INSERT INTO webhook_deliveries (id, workspace_id, event_type, payload, status, attempts, next_attempt_at, \
         created_at) SELECT $1, workspace_id, $2, $3, 'pending', 0, $4, $4 FROM webhooks WHERE workspace_id = $5",
    )
    .bind(&id)
    .bind(event_type)
    .bind(payload)
    .bind(&now)
    .bind(workspace_id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// A leased delivery attempt.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: String,
    pub workspace_id: String,
    pub event_type: String,
    pub payload: String,
    pub attempts: i64,
    pub created_at: String,
    /// `webhook` (the generic endpoint) or `resolution` (`store::resolution_webhooks`).
    pub channel: String,
    /// The resolution endpoint's credential version the row was queued under (`None` on the generic channel).
    pub credential_version: Option<i64>,
}

/// Leases up to `limit` due deliveries: each is claimed by a conditional update that pushes its `next_attempt_at`
/// past the lease, so a concurrent worker that read the same row loses the update and skips it.
pub async fn lease_due(store: &Store, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
    let now_t = util::now();
    let now = util::fmt_ts(now_t);
    let lease_until = util::fmt_ts(now_t + time::Duration::seconds(LEASE_SECONDS));
    let rows = sqlx::query(
        "SELECT id, workspace_id, event_type, payload, attempts, created_at, next_attempt_at, channel, \
         credential_version FROM webhook_deliveries \
         WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(&now)
    .bind(limit)
    .fetch_all(store.reader())
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.begin().await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get("id")?;
        let seen: String = r.try_get("next_attempt_at")?;
        let won = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2 AND status = 'pending' \
             AND next_attempt_at = $3",
        )
        .bind(&lease_until)
        .bind(&id)
        .bind(&seen)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if won {
            out.push(Due {
                id,
                workspace_id: r.try_get("workspace_id")?,
                event_type: r.try_get("event_type")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
                created_at: r.try_get("created_at")?,
                channel: r.try_get("channel")?,
                credential_version: r.try_get("credential_version")?,
            });
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// Records an attempt: delivered, retry at `retry_at`, or given up (`retry_at = None` and not delivered).
/// `last_error` is the delivery log's code of a failed attempt (`http_error`, `timeout`, `unsafe_url`, …).
pub async fn record_attempt(
    store: &Store,
    id: &str,
    delivered: bool,
    http_status: Option<i64>,
    retry_at: Option<&str>,
    last_error: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = util::fmt_ts(util::now());
    let mut tx = store.begin().await?;
    let (status, next) = match (delivered, retry_at) {
        (true, _) => ("delivered", now.clone()),
        (false, Some(at)) => ("pending", at.to_string()),
        (false, None) => ("failed", now.clone()),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, last_status = $3, \
         delivered_at = $4, last_error = $5 WHERE id = $6 AND status = 'pending'",
    )
    .bind(status)
    .bind(next)
    .bind(http_status)
    .bind(if delivered { Some(now) } else { None })
    .bind(if delivered { None } else { last_error })
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Counts by status, for `/metrics`.
pub async fn counts(pool: &Pool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status").fetch_all(pool).await?;
    rows.iter().map(|r| Ok((r.try_get("status")?, r.try_get("n")?))).collect()
}
