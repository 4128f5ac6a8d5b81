//! Confirmations: the pending nonce a `confirm` decision hands out, the user's decision on it, and its single use.
//!
//! Only the SHA-256 of a nonce is stored. Resolution is a conditional `UPDATE … WHERE status = 'pending'`, so of
//! any number of concurrent approvals exactly one changes the row; consumption by a later check is conditional too,
//! and so is expiry (the one update that marks a pending row expired is the one that receipts it).
//!
//! An answer belongs to the call that asked: it is matched by the asking check's authorization, scope, resource,
//! session and arguments digest (see [`CallKey`]) and used once, approval or rejection alike.

use allowly_core::model::ConfirmationStatus;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::{Dialect, Tx};

#[derive(Debug, Clone)]
pub struct ConfRow {
    pub id: String,
    pub workspace_id: String,
    pub authorization_id: String,
    pub scope: String,
    pub resource: Option<String>,
    pub status: ConfirmationStatus,
    pub created_at: String,
    pub nonce_expires_at: String,
    pub decided_at: Option<String>,
    pub ttl_seconds: Option<i64>,
    pub decision_expires_at: Option<String>,
    pub check_receipt_id: String,
    pub resolve_receipt_id: Option<String>,
    pub session_id: Option<String>,
    pub arguments_sha256: Option<String>,
    /// The `confirmation.resolve` receipt (reason `confirmation_expired`) of a pending row nobody answered in time.
    pub expire_receipt_id: Option<String>,
}

impl ConfRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            workspace_id: r.try_get("workspace_id")?,
            authorization_id: r.try_get("authorization_id")?,
            scope: r.try_get("scope")?,
            resource: r.try_get("resource")?,
            status: {
                let name: String = r.try_get("status")?;
                ConfirmationStatus::parse(&name).ok_or_else(|| sqlx::Error::ColumnDecode {
                    index: "status".into(),
                    source: format!("unknown confirmation status `{name}`").into(),
                })?
            },
            created_at: r.try_get("created_at")?,
            nonce_expires_at: r.try_get("nonce_expires_at")?,
            decided_at: r.try_get("decided_at")?,
            ttl_seconds: r.try_get("ttl_seconds")?,
            decision_expires_at: r.try_get("decision_expires_at")?,
            check_receipt_id: r.try_get("check_receipt_id")?,
            resolve_receipt_id: r.try_get("resolve_receipt_id")?,
            session_id: r.try_get("session_id")?,
            arguments_sha256: r.try_get("arguments_sha256")?,
            expire_receipt_id: r.try_get("expire_receipt_id")?,
        })
    }

    /// The status a reader sees at `now`: a pending nonce or an unused decision past its time reads `expired`.
    pub fn effective_status(&self, now: &str) -> ConfirmationStatus {
        use ConfirmationStatus::*;
        match self.status {
            Pending if self.nonce_expires_at.as_str() <= now => Expired,
            Approved | DeniedByUser if self.decision_expires_at.as_deref().is_some_and(|t| t <= now) => Expired,
            s => s,
        }
    }
}

pub struct NewConfirmation<'a> {
    pub id: &'a str,
    pub workspace_id: &'a str,
    pub authorization_id: &'a str,
    pub nonce_hash: &'a str,
    pub scope: &'a str,
    pub resource: Option<&'a str>,
    pub now: &'a str,
    pub nonce_expires_at: &'a str,
    pub check_receipt_id: &'a str,
    pub session_id: Option<&'a str>,
    pub arguments_sha256: Option<&'a str>,
}

pub async fn create(tx: &mut Tx, c: &NewConfirmation<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO confirmations (id, workspace_id, authorization_id, nonce_hash, scope, resource, status, \
         created_at, nonce_expires_at, check_receipt_id, session_id, arguments_sha256) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11)",
    )
    .bind(c.id)
    .bind(c.workspace_id)
    .bind(c.authorization_id)
    .bind(c.nonce_hash)
    .bind(c.scope)
    .bind(c.resource)
    .bind(c.now)
    .bind(c.nonce_expires_at)
    .bind(c.check_receipt_id)
    .bind(c.session_id)
    .bind(c.arguments_sha256)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a check says about the call it asks for; an answer is matched to a later check by all of it.
#[derive(Debug, Clone, Copy)]
pub struct CallKey<'a> {
    pub authorization_id: &'a str,
    pub scope: &'a str,
    pub resource: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub arguments_sha256: Option<&'a str>,
    /// The caller named the confirmation it re-checks for: only that one may answer.
    pub confirmation_id: Option<&'a str>,
}

/// The unused answer a new check inherits: the oldest one given for the same call. Authorization and scope must be
/// equal; the session and the arguments digest must be equal too, absent on both sides counting as equal, so a
/// check that sends another (or none where the asking check sent one) is another call. The resource must be equal,
/// except that a re-check without one matches (the seed walkthrough re-checks with its scopes only). A rejection is
/// an answer like an approval: it denies the re-check of the call that asked, once, and is not remembered for later
/// calls.
pub async fn matching_decision(tx: &mut Tx, key: &CallKey<'_>, now: &str) -> Result<Option<ConfRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT * FROM confirmations WHERE authorization_id = $1 AND scope = $2 \
         AND status IN ('approved', 'denied_by_user') AND consumed_receipt_id IS NULL AND decision_expires_at > $3 \
         AND ($4 IS NULL OR resource = $4) \
         AND (session_id = $5 OR (session_id IS NULL AND $5 IS NULL)) \
         AND (arguments_sha256 = $6 OR (arguments_sha256 IS NULL AND $6 IS NULL)) \
         AND ($7 IS NULL OR id = $7) \
         ORDER BY created_at, id LIMIT 1",
    )
    .bind(key.authorization_id)
    .bind(key.scope)
    .bind(now)
    .bind(key.resource)
    .bind(key.session_id)
    .bind(key.arguments_sha256)
    .bind(key.confirmation_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(ConfRow::from_row).transpose()
}

/// Uses an answer up (single use): an approval becomes `consumed`, a rejection keeps its status; both record the
/// check that used them. False when another check used it first.
pub async fn consume(tx: &mut Tx, id: &str, receipt_id: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE confirmations SET status = CASE status WHEN 'approved' THEN 'consumed' ELSE status END, \
         consumed_receipt_id = $1 WHERE id = $2 AND status IN ('approved', 'denied_by_user') \
         AND consumed_receipt_id IS NULL",
    )
    .bind(receipt_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Pending rows whose time ran out at `now`, oldest first (the background sweep's batch).
pub async fn due_for_expiry(conn: &mut AnyConnection, now: &str, limit: i64) -> Result<Vec<ConfRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT * FROM confirmations WHERE status = 'pending' AND nonce_expires_at <= $1 \
         ORDER BY nonce_expires_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(ConfRow::from_row).collect()
}

/// Marks a pending row expired if its time ran out at `now`, recording `receipt_id` as its expiry receipt. True for
/// the one caller that changed it (the only one that may write that receipt).
pub async fn mark_expired(tx: &mut Tx, id: &str, now: &str, receipt_id: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE confirmations SET status = 'expired', expire_receipt_id = $1 \
         WHERE id = $2 AND status = 'pending' AND nonce_expires_at <= $3",
    )
    .bind(receipt_id)
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The confirmation a nonce resolves, locked for the resolving transaction: on PostgreSQL concurrent resolutions of
/// one nonce queue here and each sees the status the previous one committed, exactly as under SQLite's write lock.
pub async fn by_nonce(tx: &mut Tx, workspace_id: &str, nonce_hash: &str) -> Result<Option<ConfRow>, sqlx::Error> {
    let sql = format!(
        "SELECT * FROM confirmations WHERE nonce_hash = $1 AND workspace_id = $2{}",
        Dialect::of(tx).for_update()
    );
    let row = sqlx::query(&sql).bind(nonce_hash).bind(workspace_id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(ConfRow::from_row).transpose()
}

pub async fn get(conn: &mut AnyConnection, workspace_id: &str, id: &str) -> Result<Option<ConfRow>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM confirmations WHERE id = $1 AND workspace_id = $2")
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(ConfRow::from_row).transpose()
}

pub struct Resolution<'a> {
    pub id: &'a str,
    pub decision: allowly_core::model::ConfirmationDecision,
    pub now: &'a str,
    pub ttl_seconds: i64,
    pub decision_expires_at: &'a str,
    pub receipt_id: &'a str,
}

/// Records the user's decision if the nonce is still pending and unexpired. True for the one winner.
pub async fn resolve(tx: &mut Tx, r: &Resolution<'_>) -> Result<bool, sqlx::Error> {
    let res = sqlx::query(
        "UPDATE confirmations SET status = $1, decided_at = $2, ttl_seconds = $3, decision_expires_at = $4, \
         resolve_receipt_id = $5 WHERE id = $6 AND status = 'pending' AND nonce_expires_at > $2",
    )
    .bind(r.decision.status().as_str())
    .bind(r.now)
    .bind(r.ttl_seconds)
    .bind(r.decision_expires_at)
    .bind(r.receipt_id)
    .bind(r.id)
    .execute(&mut **tx)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// On revoke: every pending nonce and unused approval of the authorization stops working. Returns their ids.
pub async fn expire_for_authorization(tx: &mut Tx, auth_id: &str) -> Result<Vec<String>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM confirmations WHERE authorization_id = $1 AND status IN ('pending', 'approved') ORDER BY id",
    )
    .bind(auth_id)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE confirmations SET status = 'expired' WHERE authorization_id = $1 AND status IN ('pending', 'approved')",
    )
    .bind(auth_id)
    .execute(&mut **tx)
    .await?;
    Ok(ids)
}
