//! Stored responses for `Idempotency-Key` replay.
//!
//! The lookup and the save both run inside the request's write transaction, so two concurrent requests with the
//! same key serialize: the second sees the first's stored response instead of executing again. SQLite's write lock
//! gives that order by itself; on PostgreSQL the lookup first takes a transaction-scoped advisory lock on the key.

use sqlx::Row as _;

use super::{Dialect, Tx};
use crate::util;

pub enum Replay {
    /// First use of this key.
    Fresh,
    /// Same key, same request: answer with the stored response.
    Hit { status: u16, body: String },
    /// Same key, different request.
    Conflict,
}

pub async fn lookup(tx: &mut Tx, workspace_id: &str, key: &str, request_hash: &str) -> Result<Replay, sqlx::Error> {
    if Dialect::of(tx) == Dialect::Postgres {
        // Without this, two requests with one key could both find nothing, both execute, and one would then fail
        // on the primary key. With it the second waits here until the first commits (or rolls back), then reads the
        // stored response. The key text is hashed to the lock's bigint; a collision only serializes two requests.
        // (Selected FROM the function because `Any` cannot decode its `void` result.)
        sqlx::query("SELECT 1 FROM pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("{workspace_id} {key}"))
            .execute(&mut **tx)
            .await?;
    }
    let row = sqlx::query("SELECT request_hash, status, body FROM idempotency WHERE workspace_id = $1 AND key = $2")
        .bind(workspace_id)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(Replay::Fresh) };
    let stored: String = row.try_get("request_hash")?;
    if stored != request_hash {
        return Ok(Replay::Conflict);
    }
    let status: i64 = row.try_get("status")?;
    Ok(Replay::Hit { status: u16::try_from(status).unwrap_or(200), body: row.try_get("body")? })
}

pub async fn save(
    tx: &mut Tx,
    workspace_id: &str,
    key: &str,
    request_hash: &str,
    status: u16,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO idempotency (workspace_id, key, request_hash, status, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(workspace_id)
    .bind(key)
    .bind(request_hash)
    .bind(i64::from(status))
    .bind(body)
    .bind(util::fmt_ts(util::now()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
