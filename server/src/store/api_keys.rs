//! Workspaces and API keys. Keys are shown once at creation and stored only as SHA-256 hashes plus a short
//! display prefix, so a database leak does not leak usable credentials.

use sqlx::{Any, Row as _};

use super::{Dialect, Tx};
use crate::util;

/// The two key tiers of wire-v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Tier {
    Runtime,
    Setup,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Runtime => "runtime",
            Tier::Setup => "setup",
        }
    }

    fn key_prefix(self) -> &'static str {
        match self {
            Tier::Runtime => "allowly_rt_",
            Tier::Setup => "allowly_setup_",
        }
    }

    /// The tier a well-formed key text claims (`allowly_rt_` / `allowly_setup_` + 32 base62), if any.
    pub fn of_key_text(key: &str) -> Option<Tier> {
        let (tier, rest) = if let Some(r) = key.strip_prefix("allowly_rt_") {
            (Tier::Runtime, r)
        } else {
            (Tier::Setup, key.strip_prefix("allowly_setup_")?)
        };
        (rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(tier)
    }
}

/// A freshly created key: the only moment its text exists outside the caller.
pub struct NewApiKey {
    pub id: String,
    pub key: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey").field("id", &self.id).finish_non_exhaustive()
    }
}

pub async fn create_workspace(tx: &mut Tx, name: &str, now: &str) -> Result<String, sqlx::Error> {
    let id = util::new_id("ws");
    sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

pub async fn first_workspace<'e>(db: impl sqlx::Executor<'e, Database = Any>) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM workspaces ORDER BY created_at, id LIMIT 1").fetch_optional(db).await
}

/// Bootstrap (first start, `allowly init`) decides "is there a workspace yet?" and creates one in the same
/// transaction. SQLite's `BEGIN IMMEDIATE` already excludes every other writer; on PostgreSQL two processes starting
/// on an empty database would both see none, so the table is locked against concurrent inserts until commit.
pub async fn lock_for_bootstrap(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if Dialect::of(tx) == Dialect::Postgres {
        sqlx::query("LOCK TABLE workspaces IN SHARE ROW EXCLUSIVE MODE").execute(&mut **tx).await?;
    }
    Ok(())
}

pub async fn create(
    tx: &mut Tx,
    workspace_id: &str,
    tier: Tier,
    name: &str,
    now: &str,
) -> Result<NewApiKey, sqlx::Error> {
    let key = format!("{}{}", tier.key_prefix(), util::random_base62(32));
    let id = util::new_id("key");
    sqlx::query(
        "INSERT INTO api_keys (id, workspace_id, tier, name, prefix, key_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(workspace_id)
    .bind(tier.as_str())
    .bind(name)
    .bind(&key[..tier.key_prefix().len() + 4])
    .bind(util::sha256_hex(key.as_bytes()))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(NewApiKey { id, key })
}

/// Who a live key belongs to, with the one workspace setting every agent call needs.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub workspace_id: String,
    pub tier: Tier,
    /// The workspace refuses agent calls without an agent token (`store::agents::set_requires_tokens`). Read here,
    /// with the key, so a check costs one lookup fewer than asking the workspace separately.
    pub requires_agent_tokens: bool,
}

/// Looks a presented key up by its SHA-256 (lowercase hex, as stored): its owner, for a live key. Answers from the
/// store's [`super::key_cache`] when it holds the key.
pub async fn authenticate(store: &super::Store, key_hash: &str) -> Result<Option<KeyOwner>, sqlx::Error> {
    let hash = key_hash.to_string();
    let cache = store.keys();
    if let Some(owner) = cache.get(&hash) {
        return Ok(Some(owner));
    }
    let generation = cache.generation();
    let row = sqlx::query(
        "SELECT k.workspace_id, k.tier, w.require_agent_tokens FROM api_keys k \
         LEFT JOIN workspaces w ON w.id = k.workspace_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
    )
    .bind(&hash)
    .fetch_optional(store.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let tier: String = row.try_get("tier")?;
    let tier = if tier == "setup" { Tier::Setup } else { Tier::Runtime };
    let requires: Option<i64> = row.try_get("require_agent_tokens")?;
    let owner = KeyOwner {
        workspace_id: row.try_get("workspace_id")?,
        tier,
        requires_agent_tokens: requires.unwrap_or(0) != 0,
    };
    cache.insert(hash, owner.clone(), generation);
    Ok(Some(owner))
}

/// A key as listed: never its text or hash, only the display prefix.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub id: String,
    pub tier: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

pub async fn list(pool: &super::Pool, workspace_id: &str) -> Result<Vec<KeyInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, tier, name, prefix, created_at, revoked_at FROM api_keys WHERE workspace_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(workspace_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(KeyInfo {
                id: r.try_get("id")?,
                tier: r.try_get("tier")?,
                name: r.try_get("name")?,
                prefix: r.try_get("prefix")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Why a revoke did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(String),
    AlreadyRevoked(String),
    NotFound,
    /// Revoking it would leave the workspace without a live setup key, i.e. locked out of its own administration.
    LastSetupKey,
}

pub async fn revoke(tx: &mut Tx, workspace_id: &str, id: &str, now: &str) -> Result<RevokeOutcome, sqlx::Error> {
    let row = sqlx::query("SELECT tier, revoked_at FROM api_keys WHERE id = $1 AND workspace_id = $2")
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(RevokeOutcome::NotFound) };
    if let Some(at) = row.try_get::<Option<String>, _>("revoked_at")? {
        return Ok(RevokeOutcome::AlreadyRevoked(at));
    }
    let tier: String = row.try_get("tier")?;
    if tier == "setup" {
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_keys WHERE workspace_id = $1 AND tier = 'setup' AND revoked_at IS NULL",
        )
        .bind(workspace_id)
        .fetch_one(&mut **tx)
        .await?;
        if live <= 1 {
            return Ok(RevokeOutcome::LastSetupKey);
        }
    }
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(RevokeOutcome::Revoked(now.to_string()))
}
