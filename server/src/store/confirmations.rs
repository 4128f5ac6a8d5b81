//! Confirmations: the pending nonce a `confirm` decision hands out, the user's decision on it, and its single use.
//!
//! Only the SHA-256 of a nonce is stored. Resolution is a conditional `UPDATE … WHERE status = 'pending'`, so of
//! any number of concurrent approvals exactly one changes the row; consumption by a later check is conditional too.

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
}

pub async fn create(tx: &mut Tx, c: &NewConfirmation<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO confirmations (id, workspace_id, authorization_id, nonce_hash, scope, resource, status, \
         created_at, nonce_expires_at, check_receipt_id) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)",
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The decision a new check of (authorization, scope, resource) inherits: an unused approval first, else a
/// rejection within its TTL. A check without a resource matches any confirmed resource (the seed re-checks with
/// scopes only); a check with one matches only that resource.
pub async fn matching_decision(
    tx: &mut Tx,
    auth_id: &str,
    scope: &str,
    resource: Option<&str>,
    now: &str,
) -> Result<Option<ConfRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT * FROM confirmations WHERE authorization_id = $1 AND scope = $2 \
         AND status IN ('approved', 'denied_by_user') AND decision_expires_at > $3 \
         AND ($4 IS NULL OR resource = $4) \
         ORDER BY CASE status WHEN 'approved' THEN 0 ELSE 1 END, decided_at DESC LIMIT 1",
    )
    .bind(auth_id)
    .bind(scope)
    .bind(now)
    .bind(resource)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(ConfRow::from_row).transpose()
}

/// Consumes an approval (single use). False when another check consumed it first.
pub async fn consume(tx: &mut Tx, id: &str, receipt_id: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE confirmations SET status = 'consumed', consumed_receipt_id = $1 WHERE id = $2 AND status = 'approved'",
    )
    .bind(receipt_id)
    .bind(id)
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
