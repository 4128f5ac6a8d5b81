//! Reading signed receipts back out: the audit query (newest first, keyset-paginated) and the export (oldest
//! first, in pages the route streams). Both hand back the signed receipt text exactly as stored, so what a client
//! verifies is byte for byte what the signer produced — nothing is re-serialized on the way out.

use sqlx::Row as _;

use super::Pool;

/// Filters of `GET /v1/audit`. Times are already normalized to the stored `YYYY-MM-DDTHH:MM:SS.sssZ` profile, so
/// string comparison is time comparison.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub authorization_id: Option<String>,
    pub run_id: Option<String>,
    /// A check's scope or an event receipt's event name (`authorization.create`, …).
    pub action: Option<String>,
    pub decision: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Position after which to continue: `(issued_at, receipt_id)` of the last row of the previous page.
    pub after: Option<(String, String)>,
}

/// A signed receipt as stored, with its sort key.
#[derive(Debug, Clone)]
pub struct SignedRow {
    pub id: String,
    pub issued_at: String,
    pub signed: String,
}

/// Builds `WHERE` clauses with `$n` placeholders numbered in bind order.
struct Where {
    sql: String,
    binds: Vec<String>,
}

impl Where {
    fn new(workspace_id: &str) -> Self {
        Self { sql: "workspace_id = $1 AND status = 'signed'".into(), binds: vec![workspace_id.to_string()] }
    }

    fn push(&mut self, clause: &str, value: &str) {
        self.binds.push(value.to_string());
        self.sql.push_str(" AND ");
        self.sql.push_str(&clause.replace('?', &format!("${}", self.binds.len())));
    }

    fn opt(&mut self, clause: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.push(clause, v);
        }
    }
}

async fn fetch(pool: &Pool, sql: &str, binds: &[String], limit: i64) -> Result<Vec<SignedRow>, sqlx::Error> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.as_str());
    }
    let rows = q.bind(limit).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(SignedRow { id: r.try_get("id")?, issued_at: r.try_get("issued_at")?, signed: r.try_get("signed")? })
        })
        .collect()
}

/// Up to `limit` signed receipts matching `f`, newest first.
pub async fn audit(
    pool: &Pool,
    workspace_id: &str,
    f: &AuditFilter,
    limit: i64,
) -> Result<Vec<SignedRow>, sqlx::Error> {
    let mut w = Where::new(workspace_id);
    w.opt("user_id = ?", &f.user_id);
    w.opt("agent_id = ?", &f.agent_id);
    w.opt("authorization_id = ?", &f.authorization_id);
    w.opt("run_id = ?", &f.run_id);
    w.opt("action = ?", &f.action);
    w.opt("decision = ?", &f.decision);
    w.opt("issued_at >= ?", &f.since);
    w.opt("issued_at < ?", &f.until);
    if let Some((at, id)) = &f.after {
        w.push("(issued_at < ?", at);
        let n = w.binds.len();
        w.binds.push(id.clone());
        w.sql.push_str(&format!(" OR (issued_at = ${n} AND id < ${}))", n + 1));
    }
    let sql = format!(
        "SELECT id, issued_at, signed FROM receipts WHERE {} ORDER BY issued_at DESC, id DESC LIMIT ${}",
        w.sql,
        w.binds.len() + 1
    );
    fetch(pool, &sql, &w.binds, limit).await
}

/// One page of the export: signed receipts in `[since, until)`, oldest first, after `after`.
pub async fn export_page(
    pool: &Pool,
    workspace_id: &str,
    since: Option<&str>,
    until: Option<&str>,
    after: Option<&(String, String)>,
    limit: i64,
) -> Result<Vec<SignedRow>, sqlx::Error> {
    let mut w = Where::new(workspace_id);
    w.opt("issued_at >= ?", &since.map(str::to_string));
    w.opt("issued_at < ?", &until.map(str::to_string));
    if let Some((at, id)) = after {
        w.push("(issued_at > ?", at);
        let n = w.binds.len();
        w.binds.push(id.clone());
        w.sql.push_str(&format!(" OR (issued_at = ${n} AND id > ${}))", n + 1));
    }
    let sql = format!(
        "SELECT id, issued_at, signed FROM receipts WHERE {} ORDER BY issued_at, id LIMIT ${}",
        w.sql,
        w.binds.len() + 1
    );
    fetch(pool, &sql, &w.binds, limit).await
}

/// `(pending count, created_at of the oldest pending row)`, for `/metrics`.
pub async fn pending_stats(pool: &Pool) -> Result<(i64, Option<String>), sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM receipts WHERE status = 'pending'")
        .fetch_one(pool)
        .await?;
    Ok((row.try_get("n")?, row.try_get("oldest")?))
}
