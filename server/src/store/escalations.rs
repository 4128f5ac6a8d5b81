//! Escalations: a check sent to a named member (`member:<id>`) by a policy edition's rule or by an authorization's
//! `escalation_targets`, with one or two levels (level 1 resolves first, then level 2), each level resolved by its own
//! member's credential.
//!
//! Every transition is a conditional update, so of any number of concurrent requests exactly one makes it: a level is
//! resolved only `WHERE status = 'pending' AND level = N` (and `escalation_steps`' primary key backs that up), a
//! resolution is used by one re-check only `WHERE consumed_receipt_id IS NULL`, and an expiry is receipted once
//! `WHERE status = 'pending'`. Like a confirmation's answer, a resolution belongs to the call that asked (see
//! [`CallKey`]).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::confirmations::CallKey;
use super::{Dialect, Tx};

/// One escalation as stored.
#[derive(Debug, Clone)]
pub struct EscalationRow {
    pub id: String,
    pub workspace_id: String,
    pub authorization_id: String,
    pub action: String,
    pub resource: Option<String>,
    /// The member the current level waits on (`member:<id>`).
    pub target: String,
    /// Every level's member, level 1 first.
    pub targets: Vec<String>,
    pub level: i64,
    pub levels: i64,
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
    pub check_receipt_id: String,
    pub session_id: Option<String>,
    pub arguments_sha256: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolve_receipt_id: Option<String>,
    pub expire_receipt_id: Option<String>,
    pub consumed_receipt_id: Option<String>,
    pub consumed_at: Option<String>,
    /// The reason the asking check gave; `None` for policy escalations stored before v8.
    pub reason: Option<String>,
}

impl EscalationRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let target: String = r.try_get("target")?;
        let targets: Option<String> = r.try_get("targets")?;
        let targets = match targets {
            Some(t) => serde_json::from_str(&t).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            None => vec![target.clone()],
        };
        Ok(Self {
            id: r.try_get("id")?,
            workspace_id: r.try_get("workspace_id")?,
            authorization_id: r.try_get("authorization_id")?,
            action: r.try_get("action")?,
            resource: r.try_get("resource")?,
            target,
            targets,
            level: r.try_get("level")?,
            levels: r.try_get("levels")?,
            status: r.try_get("status")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            check_receipt_id: r.try_get("check_receipt_id")?,
            session_id: r.try_get("session_id")?,
            arguments_sha256: r.try_get("arguments_sha256")?,
            resolved_by: r.try_get("resolved_by")?,
            resolved_at: r.try_get("resolved_at")?,
            resolve_receipt_id: r.try_get("resolve_receipt_id")?,
            expire_receipt_id: r.try_get("expire_receipt_id")?,
            consumed_receipt_id: r.try_get("consumed_receipt_id")?,
            consumed_at: r.try_get("consumed_at")?,
            reason: r.try_get("reason")?,
        })
    }

    /// The status a reader sees at `now`: a pending escalation past its expiry reads `expired`.
    pub fn effective_status(&self, now: &str) -> &str {
        if self.status == "pending" && self.expires_at.as_str() <= now { "expired" } else { &self.status }
    }

    /// Whether `member:<member_id>` is asked at any level (only such a member may read it).
    pub fn addressed_to(&self, member_id: &str) -> bool {
        let target = format!("member:{member_id}");
        self.targets.contains(&target)
    }
}

pub struct NewEscalation<'a> {
    pub id: &'a str,
    pub workspace_id: &'a str,
    pub authorization_id: &'a str,
    pub action: &'a str,
    pub resource: Option<&'a str>,
    /// Every level's member, level 1 first (one or two).
    pub targets: &'a [String],
    pub now: &'a str,
    pub expires_at: &'a str,
    pub check_receipt_id: &'a str,
    pub session_id: Option<&'a str>,
    pub arguments_sha256: Option<&'a str>,
    pub reason: &'a str,
}

pub async fn create(tx: &mut Tx, e: &NewEscalation<'_>) -> Result<(), sqlx::Error> {
    let first = e.targets.first().ok_or_else(|| sqlx::Error::Protocol("an escalation needs a target".into()))?;
    let targets = serde_json::to_string(e.targets).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO escalations (id, workspace_id, authorization_id, action, resource, target, status, created_at, \
         expires_at, check_receipt_id, session_id, arguments_sha256, targets, level, levels, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11, $12, 1, $13, $14)",
    )
    .bind(e.id)
    .bind(e.workspace_id)
    .bind(e.authorization_id)
    .bind(e.action)
    .bind(e.resource)
    .bind(first)
    .bind(e.now)
    .bind(e.expires_at)
    .bind(e.check_receipt_id)
    .bind(e.session_id)
    .bind(e.arguments_sha256)
    .bind(targets)
    .bind(e.targets.len() as i64)
    .bind(e.reason)
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
    row.as_ref().map(EscalationRow::from_row).transpose()
}

/// [`get`] as the first read of a resolution: on PostgreSQL concurrent resolutions of one escalation queue on the
/// row lock and each sees what the previous one committed, exactly as under SQLite's write lock.
pub async fn get_locked(tx: &mut Tx, workspace_id: &str, id: &str) -> Result<Option<EscalationRow>, sqlx::Error> {
    let sql = format!("SELECT * FROM escalations WHERE id = $1 AND workspace_id = $2{}", Dialect::of(tx).for_update());
    let row = sqlx::query(&sql).bind(id).bind(workspace_id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(EscalationRow::from_row).transpose()
}

/// The escalation a check of this call inherits: an unused final resolution, else one still pending at `now`; the
/// oldest first. Authorization, action, resource, session and arguments digest must all be equal (absent on both
/// sides counts as equal): a check with other parameters is another call and asks again.
pub async fn for_call(tx: &mut Tx, key: &CallKey<'_>, now: &str) -> Result<Option<EscalationRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT * FROM escalations WHERE authorization_id = $1 AND action = $2 AND consumed_receipt_id IS NULL \
         AND (status IN ('approved', 'rejected') OR (status = 'pending' AND expires_at > $3)) \
         AND (resource = $4 OR (resource IS NULL AND $4 IS NULL)) \
         AND (session_id = $5 OR (session_id IS NULL AND $5 IS NULL)) \
         AND (arguments_sha256 = $6 OR (arguments_sha256 IS NULL AND $6 IS NULL)) \
         ORDER BY CASE status WHEN 'pending' THEN 1 ELSE 0 END, created_at, id LIMIT 1",
    )
    .bind(key.authorization_id)
    .bind(key.scope)
    .bind(now)
    .bind(key.resource)
    .bind(key.session_id)
    .bind(key.arguments_sha256)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(EscalationRow::from_row).transpose()
}

/// Uses a final resolution up (once): records the check that used it. False when another check used it first.
pub async fn consume(tx: &mut Tx, id: &str, receipt_id: &str, now: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE escalations SET consumed_receipt_id = $1, consumed_at = $2 \
         WHERE id = $3 AND status IN ('approved', 'rejected') AND consumed_receipt_id IS NULL",
    )
    .bind(receipt_id)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// One level's resolution, about to be recorded.
pub struct Step<'a> {
    pub id: &'a str,
    pub level: i64,
    pub approved: bool,
    /// `member:<id>` of the resolving credential.
    pub resolved_by: &'a str,
    pub now: &'a str,
    pub receipt_id: &'a str,
    /// The next level's member when this approval passes the escalation on; `None` for a final step.
    pub next_target: Option<&'a str>,
}

/// Records a level's resolution if the escalation is still pending at that level and unexpired. True for the one
/// winner; every other concurrent resolve of that level changes nothing.
pub async fn resolve_step(tx: &mut Tx, s: &Step<'_>) -> Result<bool, sqlx::Error> {
    let r = match s.next_target {
        Some(next) => {
            sqlx::query(
                "UPDATE escalations SET level = level + 1, target = $1 \
                 WHERE id = $2 AND status = 'pending' AND level = $3 AND expires_at > $4",
            )
            .bind(next)
            .bind(s.id)
            .bind(s.level)
            .bind(s.now)
            .execute(&mut **tx)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE escalations SET status = $1, resolved_by = $2, resolved_at = $3, resolve_receipt_id = $4 \
                 WHERE id = $5 AND status = 'pending' AND level = $6 AND expires_at > $3",
            )
            .bind(if s.approved { "approved" } else { "rejected" })
            .bind(s.resolved_by)
            .bind(s.now)
            .bind(s.receipt_id)
            .bind(s.id)
            .bind(s.level)
            .execute(&mut **tx)
            .await?
        }
    };
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO escalation_steps (escalation_id, level, resolution, resolved_by, resolved_at, receipt_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s.id)
    .bind(s.level)
    .bind(if s.approved { "approved" } else { "rejected" })
    .bind(s.resolved_by)
    .bind(s.now)
    .bind(s.receipt_id)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// One resolved level as stored.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub level: i64,
    pub resolution: String,
    pub resolved_by: String,
    pub resolved_at: String,
    pub receipt_id: String,
}

/// The resolved levels of an escalation, level 1 first.
pub async fn steps(conn: &mut AnyConnection, id: &str) -> Result<Vec<StepRow>, sqlx::Error> {
    let rows = sqlx::query("SELECT * FROM escalation_steps WHERE escalation_id = $1 ORDER BY level")
        .bind(id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(StepRow {
                level: r.try_get("level")?,
                resolution: r.try_get("resolution")?,
                resolved_by: r.try_get("resolved_by")?,
                resolved_at: r.try_get("resolved_at")?,
                receipt_id: r.try_get("receipt_id")?,
            })
        })
        .collect()
}

/// Pending escalations whose time ran out at `now`, oldest first (the background sweep's batch).
pub async fn due_for_expiry(
    conn: &mut AnyConnection,
    now: &str,
    limit: i64,
) -> Result<Vec<EscalationRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT * FROM escalations WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(EscalationRow::from_row).collect()
}

/// Marks a pending escalation expired if its time ran out at `now`, recording `receipt_id` as its expiry receipt.
/// True for the one caller that changed it (the only one that may write that receipt).
pub async fn mark_expired(tx: &mut Tx, id: &str, now: &str, receipt_id: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE escalations SET status = 'expired', expire_receipt_id = $1 \
         WHERE id = $2 AND status = 'pending' AND expires_at <= $3",
    )
    .bind(receipt_id)
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}
