//! Members: the approvers an escalation can be addressed to (`member:<member_id>`), each with a credential of its
//! own (`allowly_mk_…`). The credential is shown once and stored only as its SHA-256, like API keys, so a database
//! leak does not leak a way to approve. A revoked member keeps its row: its id can never be taken again, so nobody
//! inherits the escalations addressed to it.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::{Dialect, Tx};
use crate::util;

/// The prefix of a member credential (allowly-core's, which every SDK redacts).
pub use allowly_core::model::MEMBER_CREDENTIAL_PREFIX as CREDENTIAL_PREFIX;

/// Whether `text` has the shape of a member credential (`allowly_mk_` + 32 base62); checked before any lookup, so
/// garbage never reaches the database.
pub fn is_credential_text(text: &str) -> bool {
    text.strip_prefix(CREDENTIAL_PREFIX).is_some_and(|r| r.len() == 32 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// One member as listed (never its credential).
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub member_id: String,
    pub display_name: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl MemberRow {
    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            member_id: r.try_get("member_id")?,
            display_name: r.try_get("display_name")?,
            created_at: r.try_get("created_at")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    }
}

/// A credential just issued: the only moment its text exists outside the caller.
pub struct NewCredential(pub String);

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewCredential(<redacted>)")
    }
}

fn new_credential() -> NewCredential {
    NewCredential(format!("{CREDENTIAL_PREFIX}{}", util::random_base62(32)))
}

/// Reads a member (live or revoked) of `workspace_id`.
pub async fn get(
    conn: &mut AnyConnection,
    workspace_id: &str,
    member_id: &str,
) -> Result<Option<MemberRow>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM members WHERE workspace_id = $1 AND member_id = $2")
        .bind(workspace_id)
        .bind(member_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(MemberRow::from_row).transpose()
}

/// Inserts a member with a new credential; `None` when the id exists (live or revoked).
pub async fn create(
    tx: &mut Tx,
    workspace_id: &str,
    member_id: &str,
    display_name: Option<&str>,
    now: &str,
) -> Result<Option<(MemberRow, NewCredential)>, sqlx::Error> {
    if Dialect::of(tx) == Dialect::Postgres {
        // Two creates of one id would both see none; the second insert then fails on the primary key instead of
        // answering 409. The advisory lock makes them queue (released at commit).
        sqlx::query("SELECT 1 FROM pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("member:{workspace_id}:{member_id}"))
            .execute(&mut **tx)
            .await?;
    }
    if get(tx, workspace_id, member_id).await?.is_some() {
        return Ok(None);
    }
    let credential = new_credential();
    sqlx::query(
        "INSERT INTO members (workspace_id, member_id, display_name, credential_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(workspace_id)
    .bind(member_id)
    .bind(display_name)
    .bind(util::sha256_hex(credential.0.as_bytes()))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let row = MemberRow {
        member_id: member_id.to_owned(),
        display_name: display_name.map(str::to_owned),
        created_at: now.to_owned(),
        revoked_at: None,
    };
    Ok(Some((row, credential)))
}

pub async fn list(pool: &super::Pool, workspace_id: &str) -> Result<Vec<MemberRow>, sqlx::Error> {
    let rows = sqlx::query("SELECT * FROM members WHERE workspace_id = $1 ORDER BY created_at, member_id")
        .bind(workspace_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(MemberRow::from_row).collect()
}

/// Replaces a live member's credential (the old one stops working with this commit); `None` when there is no live
/// member of that id.
pub async fn rotate(
    tx: &mut Tx,
    workspace_id: &str,
    member_id: &str,
) -> Result<Option<(MemberRow, NewCredential)>, sqlx::Error> {
    let credential = new_credential();
    let r = sqlx::query(
        "UPDATE members SET credential_hash = $1 WHERE workspace_id = $2 AND member_id = $3 AND revoked_at IS NULL",
    )
    .bind(util::sha256_hex(credential.0.as_bytes()))
    .bind(workspace_id)
    .bind(member_id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(None);
    }
    Ok(get(tx, workspace_id, member_id).await?.map(|row| (row, credential)))
}

/// Revokes a live member; `None` when there is no live member of that id.
pub async fn revoke(
    tx: &mut Tx,
    workspace_id: &str,
    member_id: &str,
    now: &str,
) -> Result<Option<String>, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE members SET revoked_at = $1 WHERE workspace_id = $2 AND member_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(workspace_id)
    .bind(member_id)
    .execute(&mut **tx)
    .await?;
    Ok((r.rows_affected() == 1).then(|| now.to_owned()))
}

/// Looks a presented credential up by hash: `(workspace_id, member_id)` of a live member.
pub async fn authenticate(pool: &super::Pool, credential: &str) -> Result<Option<(String, String)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT workspace_id, member_id FROM members WHERE credential_hash = $1 AND revoked_at IS NULL")
            .bind(util::sha256_hex(credential.as_bytes()))
            .fetch_optional(pool)
            .await?;
    row.map(|r| Ok((r.try_get("workspace_id")?, r.try_get("member_id")?))).transpose()
}

/// The ids among `member_ids` that are live members of `workspace_id`.
pub async fn live(tx: &mut Tx, workspace_id: &str, member_ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    for id in member_ids {
        if get(tx, workspace_id, id).await?.is_some_and(|m| m.revoked_at.is_none()) {
            out.push(id.clone());
        }
    }
    Ok(out)
}
