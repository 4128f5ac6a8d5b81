//! Policy editions: immutable numbered versions of a logical policy, and the archive mark of a logical policy.
//!
//! An edition is never updated: a change is a new edition (`max(version) + 1`, taken inside the write transaction,
//! so two publishers cannot both get the same number), and an authorization names the exact edition it was granted
//! from. Archiving marks the logical policy; it keeps every edition readable for the receipts that reference it.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};
use utoipa::ToSchema;

use super::Tx;

/// `policy_ref` of receipts and responses: which edition, and the digest of its canonical definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EditionRef {
    /// Lowercase hex SHA-256 of the canonical definition.
    pub definition_sha256: String,
    pub policy_id: String,
    pub policy_version: i64,
}

/// One stored edition.
#[derive(Debug, Clone)]
pub struct EditionRow {
    pub reference: EditionRef,
    /// The canonical definition text (what `definition_sha256` hashes).
    pub definition: String,
    pub agent_id: String,
    pub description: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// When the logical policy was archived, if it was.
    pub archived_at: Option<String>,
    /// How long confirmations of the authorizations it grants wait for an answer (seconds, clamped on use), unless
    /// the authorization says; outside the definition, so the definition and its digest stay 0.8.0's.
    pub confirmation_timeout: Option<i64>,
}

impl EditionRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            reference: EditionRef {
                definition_sha256: r.try_get("definition_sha256")?,
                policy_id: r.try_get("policy_id")?,
                policy_version: r.try_get("policy_version")?,
            },
            definition: r.try_get("definition")?,
            agent_id: r.try_get("agent_id")?,
            description: r.try_get("description")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            archived_at: r.try_get("archived_at")?,
            confirmation_timeout: r.try_get("confirmation_timeout_seconds")?,
        })
    }
}

const SELECT: &str = "SELECT e.*, a.archived_at FROM policy_editions e LEFT JOIN policy_archives a \
                      ON a.workspace_id = e.workspace_id AND a.policy_id = e.policy_id";

/// One exact edition.
pub async fn edition(
    conn: &mut AnyConnection,
    workspace_id: &str,
    policy_id: &str,
    version: i64,
) -> Result<Option<EditionRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE e.workspace_id = $1 AND e.policy_id = $2 AND e.policy_version = $3");
    let row = sqlx::query(&sql).bind(workspace_id).bind(policy_id).bind(version).fetch_optional(conn).await?;
    row.as_ref().map(EditionRow::from_row).transpose()
}

/// The newest edition of a logical policy.
pub async fn latest(
    conn: &mut AnyConnection,
    workspace_id: &str,
    policy_id: &str,
) -> Result<Option<EditionRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE e.workspace_id = $1 AND e.policy_id = $2 ORDER BY e.policy_version DESC LIMIT 1");
    let row = sqlx::query(&sql).bind(workspace_id).bind(policy_id).fetch_optional(conn).await?;
    row.as_ref().map(EditionRow::from_row).transpose()
}

/// The newest edition of each logical policy, ordered by `policy_id`, after `after` (the cursor), up to `limit`.
pub async fn list_latest(
    conn: &mut AnyConnection,
    workspace_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<EditionRow>, sqlx::Error> {
    let sql = format!(
        "{SELECT} WHERE e.workspace_id = $1 AND e.policy_id > $2 AND e.policy_version = \
         (SELECT MAX(x.policy_version) FROM policy_editions x WHERE x.workspace_id = e.workspace_id \
          AND x.policy_id = e.policy_id) ORDER BY e.policy_id LIMIT $3"
    );
    let rows = sqlx::query(&sql).bind(workspace_id).bind(after.unwrap_or("")).bind(limit).fetch_all(conn).await?;
    rows.iter().map(EditionRow::from_row).collect()
}

/// The number the next edition of `policy_id` gets (1 for a new policy), read in the publishing transaction.
pub async fn next_version(tx: &mut Tx, workspace_id: &str, policy_id: &str) -> Result<i64, sqlx::Error> {
    let max: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(policy_version) FROM policy_editions WHERE workspace_id = $1 AND policy_id = $2",
    )
    .bind(workspace_id)
    .bind(policy_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(max.unwrap_or(0) + 1)
}

pub async fn is_archived(tx: &mut Tx, workspace_id: &str, policy_id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policy_archives WHERE workspace_id = $1 AND policy_id = $2")
        .bind(workspace_id)
        .bind(policy_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// Inserts an edition. The primary key refuses a second edition with the same number (a concurrent publisher on
/// PostgreSQL), which the caller answers as a conflict.
pub async fn insert(tx: &mut Tx, workspace_id: &str, e: &EditionRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO policy_editions (workspace_id, policy_id, policy_version, definition, definition_sha256, \
         agent_id, description, created_by, created_at, confirmation_timeout_seconds) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(workspace_id)
    .bind(&e.reference.policy_id)
    .bind(e.reference.policy_version)
    .bind(&e.definition)
    .bind(&e.reference.definition_sha256)
    .bind(&e.agent_id)
    .bind(&e.description)
    .bind(&e.created_by)
    .bind(&e.created_at)
    .bind(e.confirmation_timeout)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Archives a logical policy; `false` when it was already archived (archiving twice changes nothing).
pub async fn archive(tx: &mut Tx, workspace_id: &str, policy_id: &str, now: &str) -> Result<bool, sqlx::Error> {
    if is_archived(tx, workspace_id, policy_id).await? {
        return Ok(false);
    }
    sqlx::query("INSERT INTO policy_archives (workspace_id, policy_id, archived_at) VALUES ($1, $2, $3)")
        .bind(workspace_id)
        .bind(policy_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}
