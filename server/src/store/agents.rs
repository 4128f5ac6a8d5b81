//! Enrolled agent keys (public halves only) and the workspace's "require agent tokens" setting.

use sqlx::Row as _;

use super::{Pool, Tx};

/// A registered key as the token check needs it.
#[derive(Debug, Clone)]
pub struct AgentKey {
    pub key_id: String,
    pub agent_id: String,
    pub binding_id: String,
    /// Base64url of the raw Ed25519 public key (the JWK's `x`).
    pub public_key_x: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

fn row_to_key(row: &sqlx::any::AnyRow) -> Result<AgentKey, sqlx::Error> {
    Ok(AgentKey {
        key_id: row.try_get("id")?,
        agent_id: row.try_get("agent_id")?,
        binding_id: row.try_get("binding_id")?,
        public_key_x: row.try_get("public_key_x")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

const COLUMNS: &str = "id, agent_id, binding_id, public_key_x, created_at, revoked_at";

pub async fn insert(tx: &mut Tx, workspace_id: &str, key: &AgentKey) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO agent_keys (id, workspace_id, agent_id, binding_id, public_key_x, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.key_id)
    .bind(workspace_id)
    .bind(&key.agent_id)
    .bind(&key.binding_id)
    .bind(&key.public_key_x)
    .bind(&key.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The live (not revoked) key `key_id` of the workspace.
pub async fn live_key(pool: &Pool, workspace_id: &str, key_id: &str) -> Result<Option<AgentKey>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM agent_keys WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL");
    let row = sqlx::query(&sql).bind(workspace_id).bind(key_id).fetch_optional(pool).await?;
    row.as_ref().map(row_to_key).transpose()
}

/// Every key of the workspace, oldest first.
pub async fn list(pool: &Pool, workspace_id: &str) -> Result<Vec<AgentKey>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM agent_keys WHERE workspace_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(&sql).bind(workspace_id).fetch_all(pool).await?;
    rows.iter().map(row_to_key).collect()
}

/// Revokes a key; returns its row (with the first `revoked_at`), `None` when the workspace has no such key.
pub async fn revoke(tx: &mut Tx, workspace_id: &str, key_id: &str, now: &str) -> Result<Option<AgentKey>, sqlx::Error> {
    sqlx::query("UPDATE agent_keys SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(workspace_id)
        .bind(key_id)
        .execute(&mut **tx)
        .await?;
    let sql = format!("SELECT {COLUMNS} FROM agent_keys WHERE workspace_id = $1 AND id = $2");
    let row = sqlx::query(&sql).bind(workspace_id).bind(key_id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(row_to_key).transpose()
}

pub async fn requires_tokens(pool: &Pool, workspace_id: &str) -> Result<bool, sqlx::Error> {
    let v: Option<i64> = sqlx::query_scalar("SELECT require_agent_tokens FROM workspaces WHERE id = $1")
        .bind(workspace_id)
        .fetch_optional(pool)
        .await?;
    Ok(v.unwrap_or(0) != 0)
}

pub async fn set_requires_tokens(tx: &mut Tx, workspace_id: &str, required: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE workspaces SET require_agent_tokens = $1 WHERE id = $2")
        .bind(i64::from(required))
        .bind(workspace_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The agent of an authorization (`None`: no such authorization in the workspace).
pub async fn authorization_agent(
    pool: &Pool,
    workspace_id: &str,
    authorization_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT agent_id FROM authorizations WHERE workspace_id = $1 AND id = $2")
        .bind(workspace_id)
        .bind(authorization_id)
        .fetch_optional(pool)
        .await
}
