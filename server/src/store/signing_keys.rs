//! Workspace signing keys: creation (sealed at rest), rotation, the public key document (receipt format §6) and
//! loading the unsealed keys the signer needs.

use crate::wire::KeyDocument;
use ed25519_dalek::SigningKey;
use sqlx::{AnyConnection, Row as _};

use std::sync::Arc;

use super::decision_cache::{self, Scope};
use super::{Dialect, Tx, Writer};
use crate::crypto::MasterKey;

/// A key as the signer uses it. `Debug` does not print the private key.
pub struct ActiveKey {
    pub key_id: String,
    pub workspace_id: String,
    pub active_from: String,
    pub active_until: Option<String>,
    pub signing_key: SigningKey,
}

impl std::fmt::Debug for ActiveKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveKey").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// Orders a rotation against every decision: call before reading the clock for the rotation's `now`.
///
/// The signer picks a key by the window that contains a receipt's `issued_at`, so a receipt issued after a rotation's
/// `now` must not reach a signer before the rotation is committed. SQLite's write lock orders them already. On
/// PostgreSQL this locks the receipts table against inserts (and against other rotations, which would number their
/// keys alike) until the rotation commits: a decision that read the clock earlier either committed before the lock
/// or waits, so receipts issued after `now` commit after the new key, and the signer — which re-counts keys after
/// claiming rows — loads it before signing them.
pub async fn lock_for_rotation(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if Dialect::of(tx) == Dialect::Postgres {
        sqlx::query("LOCK TABLE receipts IN SHARE ROW EXCLUSIVE MODE").execute(&mut **tx).await?;
    }
    Ok(())
}

/// Creates a new key for the workspace, active from `now`, closing the window of the currently active key at `now`.
pub async fn create(tx: &mut Tx, master: &MasterKey, workspace_id: &str, now: &str) -> Result<String, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE workspace_id = $1")
        .bind(workspace_id)
        .fetch_one(&mut **tx)
        .await?;
    let key_id = format!("{workspace_id}/signing-keys/{}", n + 1);
    decision_cache::signing_keys_changed();
    let sk = SigningKey::generate(&mut rand::rngs::OsRng);
    let (sealed, nonce) = master.seal(sk.as_bytes(), &key_id).map_err(sqlx::Error::Protocol)?;
    sqlx::query("UPDATE signing_keys SET active_until = $1 WHERE workspace_id = $2 AND active_until IS NULL")
        .bind(now)
        .bind(workspace_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO signing_keys (key_id, workspace_id, public_key, sealed_private, seal_nonce, active_from, \
         active_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
    )
    .bind(&key_id)
    .bind(workspace_id)
    .bind(sk.verifying_key().as_bytes().to_vec())
    .bind(sealed)
    .bind(nonce)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(key_id)
}

/// The key document of §6, or `None` for an unknown workspace.
pub async fn key_document(pool: &sqlx::AnyPool, workspace_id: &str) -> Result<Option<KeyDocument>, sqlx::Error> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM workspaces WHERE id = $1").bind(workspace_id).fetch_optional(pool).await?;
    if exists.is_none() {
        return Ok(None);
    }
    let rows = sqlx::query(
        "SELECT key_id, public_key, active_from, active_until FROM signing_keys WHERE workspace_id = $1 \
         ORDER BY active_from DESC, key_id DESC",
    )
    .bind(workspace_id)
    .fetch_all(pool)
    .await?;
    // Built through allowly-core's KeySet so the served document is exactly what the verifier loads (and a stored
    // key that the verifier would refuse is an error here rather than a document clients cannot use).
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let pk: Vec<u8> = r.try_get("public_key")?;
        let pk: [u8; 32] =
            pk.try_into().map_err(|_| sqlx::Error::Decode("stored public key is not 32 bytes".into()))?;
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).map_err(decode_error)?;
        let active_from: String = r.try_get("active_from")?;
        let active_until: Option<String> = r.try_get("active_until")?;
        let key_id: String = r.try_get("key_id")?;
        entries.push(
            allowly_core::receipt::PublicKeyEntry::new(key_id, vk, &active_from, active_until.as_deref())
                .map_err(decode_error)?,
        );
    }
    let doc = allowly_core::receipt::KeySet::from_entries(workspace_id, entries).map_err(decode_error)?;
    Ok(Some(KeyDocument::from(&doc)))
}

/// A stored key that does not decode is corrupt data, reported as sqlx reports undecodable columns.
fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// How many keys exist across workspaces: the signer reloads its cache when this changes (a rotation by this or
/// another process).
pub async fn count(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys").fetch_one(conn).await
}

/// Every key, for signing in a SQLite decision transaction: the store's cached set when no key was created since it was
/// read (exact there, see `decision_cache`), else read in `tx` and kept.
pub async fn for_decision(w: &mut Writer, cache: &Scope, master: &MasterKey) -> Result<Arc<Vec<ActiveKey>>, String> {
    if let Some(keys) = cache.signing_keys() {
        return Ok(keys);
    }
    let mark = cache.mark();
    let tx = w.tx().await.map_err(|e| format!("database: {e}"))?;
    let keys = Arc::new(load_all(tx, master).await?);
    cache.remember_signing_keys(mark, keys.clone());
    Ok(keys)
}

/// Every key of every workspace, unsealed (the signer caches them; there are few).
pub async fn load_all(conn: &mut AnyConnection, master: &MasterKey) -> Result<Vec<ActiveKey>, String> {
    let rows = sqlx::query(
        "SELECT key_id, workspace_id, sealed_private, seal_nonce, active_from, active_until FROM signing_keys",
    )
    .fetch_all(conn)
    .await
    .map_err(|e| format!("database: {e}"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let get = |e: sqlx::Error| format!("database: {e}");
        let key_id: String = r.try_get("key_id").map_err(get)?;
        let sealed: Vec<u8> = r.try_get("sealed_private").map_err(get)?;
        let nonce: Vec<u8> = r.try_get("seal_nonce").map_err(get)?;
        let secret = master.open(&sealed, &nonce, &key_id)?;
        let bytes: [u8; 32] = secret.try_into().map_err(|_| "sealed key has the wrong length".to_string())?;
        out.push(ActiveKey {
            workspace_id: r.try_get("workspace_id").map_err(get)?,
            active_from: r.try_get("active_from").map_err(get)?,
            active_until: r.try_get("active_until").map_err(get)?,
            signing_key: SigningKey::from_bytes(&bytes),
            key_id,
        });
    }
    Ok(out)
}
