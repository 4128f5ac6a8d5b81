//! Escalations a policy edition opened: a check sent to a named member (`member:<id>`). Resolving them arrives with
//! the approvals work; until then one is pending until it expires.

use sqlx::{AnyConnection, Row as _};

use super::Tx;

/// One escalation as stored.
#[derive(Debug, Clone)]
pub struct EscalationRow {
    pub id: String,
    pub authorization_id: String,
    pub action: String,
    pub resource: Option<String>,
    pub target: String,
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
    pub check_receipt_id: String,
}

impl EscalationRow {
    /// The status a reader sees at `now`: a pending escalation past its expiry reads `expired`.
    pub fn effective_status(&self, now: &str) -> &str {
        if self.status == "pending" && self.expires_at.as_str() <= now { "expired" } else { &self.status }
    }
}

pub struct NewEscalation<'a> {
    pub id: &'a str,
    pub workspace_id: &'a str,
    pub authorization_id: &'a str,
    pub action: &'a str,
    pub resource: Option<&'a str>,
    pub target: &'a str,
    pub now: &'a str,
    pub expires_at: &'a str,
    pub check_receipt_id: &'a str,
}

pub async fn create(tx: &mut Tx, e: &NewEscalation<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO escalations (id, workspace_id, authorization_id, action, resource, target, status, created_at, \
         expires_at, check_receipt_id) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)",
    )
    .bind(e.id)
    .bind(e.workspace_id)
    .bind(e.authorization_id)
    .bind(e.action)
    .bind(e.resource)
    .bind(e.target)
    .bind(e.now)
    .bind(e.expires_at)
    .bind(e.check_receipt_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Reads an escalation of `workspace_id` (another workspace's id is "not found").
pub async fn get(conn: &mut AnyConnection, workspace_id: &str, id: &str) -> Result<Option<EscalationRow>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM escalations WHERE id = $1 AND workspace_id = $2")
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        Ok(EscalationRow {
            id: r.try_get("id")?,
            authorization_id: r.try_get("authorization_id")?,
            action: r.try_get("action")?,
            resource: r.try_get("resource")?,
            target: r.try_get("target")?,
            status: r.try_get("status")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            check_receipt_id: r.try_get("check_receipt_id")?,
        })
    })
    .transpose()
}
