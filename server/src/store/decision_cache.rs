//! What a SQLite check reads on every decision and rarely changes — its authorization row and the workspace signing
//! keys — kept in memory so the group commit's one connection does not spend a statement (two thread hops) on it.
//!
//! Exactness rests on SQLite having one writer: every write to `authorizations` or `signing_keys` runs in a
//! transaction holding the database write lock (`BEGIN IMMEDIATE`), and entries are only filled inside the group
//! commit's transaction (`lane`), which holds that lock too. So a fill never interleaves with another writer's
//! statements, and what a writer changes is dropped here by the statement that changes it:
//!
//! - a write to an authorization forgets that authorization in every store of the process
//!   (`forget_authorization`, called by each writing function of `store::authorizations`); if its transaction then
//!   rolls back, the next check simply reads it again;
//! - a new signing key (rotation, workspace setup) advances the keys generation (`signing_keys_changed`);
//! - what the lane cannot vouch for — another process committed to the file (`PRAGMA data_version` changed, read
//!   once per batch) or a batch failed to commit after a decision filled an entry from its uncommitted writes —
//!   advances the store's epoch ([`Scope::advance`]), which empties everything of that store.
//!
//! PostgreSQL never uses this: several processes write there without a shared lock, so each decision reads its
//! authorization `FOR UPDATE` and its receipts go to the signer queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use super::authorizations::AuthRow;
use super::signing_keys::ActiveKey;

/// Entries beyond this are dropped all at once (a server with more live authorizations reads the rest as before).
const MAX_AUTHORIZATIONS: usize = 65_536;

/// Every live scope, so a write (which sees only its transaction) can reach the stores of this process.
static SCOPES: LazyLock<Mutex<Vec<Weak<Scope>>>> = LazyLock::new(Mutex::default);
static KEY_GENERATION: AtomicU64 = AtomicU64::new(0);

/// One SQLite store's cached decision inputs.
#[derive(Debug, Default)]
pub struct Scope {
    epoch: AtomicU64,
    authorizations: Mutex<HashMap<String, (u64, Arc<AuthRow>)>>,
    keys: Mutex<Option<CachedKeys>>,
}

/// The signing keys, with the epoch and keys generation they were read at.
#[derive(Debug)]
struct CachedKeys {
    epoch: u64,
    generation: u64,
    keys: Arc<Vec<ActiveKey>>,
}

/// A read's starting point: taken before the database read whose result is remembered, so a change in between makes
/// the fill a no-op instead of putting a stale row back.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    epoch: u64,
    keys: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scope {
    pub(super) fn register() -> Arc<Self> {
        let scope = Arc::new(Self::default());
        let mut scopes = lock(&SCOPES);
        scopes.retain(|s| s.strong_count() > 0);
        scopes.push(Arc::downgrade(&scope));
        scope
    }

    pub fn mark(&self) -> Mark {
        Mark { epoch: self.epoch.load(Ordering::SeqCst), keys: KEY_GENERATION.load(Ordering::SeqCst) }
    }

    /// Empties the store's entries and refuses fills read before now.
    pub fn advance(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        lock(&self.authorizations).clear();
        *lock(&self.keys) = None;
    }

    pub fn authorization(&self, workspace_id: &str, id: &str) -> Option<Arc<AuthRow>> {
        let map = lock(&self.authorizations);
        let (epoch, row) = map.get(id)?;
        (*epoch == self.epoch.load(Ordering::SeqCst) && row.workspace_id == workspace_id).then(|| row.clone())
    }

    pub(super) fn remember_authorization(&self, mark: Mark, row: Arc<AuthRow>) {
        let mut map = lock(&self.authorizations);
        if self.epoch.load(Ordering::SeqCst) != mark.epoch {
            return;
        }
        if map.len() >= MAX_AUTHORIZATIONS {
            map.clear();
        }
        map.insert(row.id.clone(), (mark.epoch, row));
    }

    pub fn signing_keys(&self) -> Option<Arc<Vec<ActiveKey>>> {
        let now = self.mark();
        let slot = lock(&self.keys);
        slot.as_ref().filter(|c| c.epoch == now.epoch && c.generation == now.keys).map(|c| c.keys.clone())
    }

    pub(super) fn remember_signing_keys(&self, mark: Mark, keys: Arc<Vec<ActiveKey>>) {
        let mut slot = lock(&self.keys);
        let now = self.mark();
        if now.epoch == mark.epoch && now.keys == mark.keys {
            *slot = Some(CachedKeys { epoch: mark.epoch, generation: mark.keys, keys });
        }
    }
}

/// Called by every statement that changes an authorization row, before its transaction ends.
pub(super) fn forget_authorization(id: &str) {
    let scopes: Vec<Arc<Scope>> = lock(&SCOPES).iter().filter_map(Weak::upgrade).collect();
    for scope in scopes {
        lock(&scope.authorizations).remove(id);
    }
}

/// Called when a signing key is created, before its transaction ends.
pub(super) fn signing_keys_changed() {
    KEY_GENERATION.fetch_add(1, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, ws: &str) -> Arc<AuthRow> {
        Arc::new(AuthRow { id: id.into(), workspace_id: ws.into(), ..AuthRow::default() })
    }

    #[test]
    fn entries_answer_only_their_store_and_workspace_until_forgotten() {
        let (a, b) = (Scope::register(), Scope::register());
        a.remember_authorization(a.mark(), row("auth_cache_t1", "ws_1"));
        assert!(a.authorization("ws_1", "auth_cache_t1").is_some());
        assert!(b.authorization("ws_1", "auth_cache_t1").is_none(), "another store never reads it");
        assert!(a.authorization("ws_2", "auth_cache_t1").is_none(), "another workspace's id is not found");
        b.remember_authorization(b.mark(), row("auth_cache_t1", "ws_1"));
        // A write forgets it everywhere in the process.
        forget_authorization("auth_cache_t1");
        assert!(a.authorization("ws_1", "auth_cache_t1").is_none());
        assert!(b.authorization("ws_1", "auth_cache_t1").is_none());
    }

    #[test]
    fn advancing_empties_the_store_and_refuses_fills_read_before_it() {
        let scope = Scope::register();
        let before = scope.mark();
        scope.remember_authorization(before, row("auth_cache_t2", "ws_1"));
        scope.advance();
        assert!(scope.authorization("ws_1", "auth_cache_t2").is_none());
        // A fill whose database read started before the change would put a stale row back: refused.
        scope.remember_authorization(before, row("auth_cache_t2", "ws_1"));
        assert!(scope.authorization("ws_1", "auth_cache_t2").is_none());
        scope.remember_signing_keys(before, Arc::new(Vec::new()));
        assert!(scope.signing_keys().is_none());
    }

    #[test]
    fn a_new_signing_key_invalidates_cached_keys_in_every_store() {
        let scope = Scope::register();
        let mark = scope.mark();
        signing_keys_changed();
        scope.remember_signing_keys(mark, Arc::new(Vec::new()));
        assert!(scope.signing_keys().is_none(), "keys read before the rotation are not kept");
    }
}
