//! Live API keys by hash, so a request's key costs a map lookup instead of a database round trip.
//!
//! Every call to the server presents its key; reading `api_keys` for each one was a query (a thread hop to a SQLite
//! connection) on every check. Only keys the database confirmed live are kept, so unknown keys cannot fill the map and a
//! new key works at once. A revoke, or a change of the workspace's agent-token setting (read with the key), empties
//! the map in this process as soon as it commits; other processes on the same database re-read a key after
//! [`TTL`] at the latest, so a key revoked elsewhere stops working within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::api_keys::KeyOwner;

/// How long a key read from the database is trusted without reading it again.
pub const TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct KeyCache {
    /// The map is only locked for a lookup or an insert, never across an await.
    keys: Mutex<HashMap<String, (KeyOwner, Instant)>>,
    /// Bumped by every invalidation: a lookup that read the database before a revoke committed must not put its
    /// (now stale) answer back after the map was emptied.
    generation: AtomicU64,
}

impl KeyCache {
    /// The owner of a live key read less than [`TTL`] ago.
    pub fn get(&self, key_hash: &str) -> Option<KeyOwner> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(key_hash).filter(|(_, at)| at.elapsed() < TTL).map(|(owner, _)| owner.clone())
    }

    /// Read before the database lookup whose answer goes to [`KeyCache::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps a live key's owner, unless an invalidation happened since `generation` was read.
    pub fn insert(&self, key_hash: String, owner: KeyOwner, generation: u64) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            keys.insert(key_hash, (owner, Instant::now()));
        }
    }

    /// After a commit that revoked a key or changed what a key's owner carries.
    pub fn invalidate(&self) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        keys.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::api_keys::Tier;

    fn owner() -> KeyOwner {
        KeyOwner { workspace_id: "ws_1".into(), tier: Tier::Runtime, requires_agent_tokens: false }
    }

    #[test]
    fn an_invalidation_empties_the_map_and_refuses_answers_read_before_it() {
        let cache = KeyCache::default();
        let before = cache.generation();
        cache.insert("h1".into(), owner(), before);
        assert_eq!(cache.get("h1").map(|o| o.workspace_id), Some("ws_1".into()));
        // A lookup starts, a revoke commits and invalidates, then the lookup's answer arrives: it is not kept.
        let read_at = cache.generation();
        cache.invalidate();
        assert!(cache.get("h1").is_none());
        cache.insert("h1".into(), owner(), read_at);
        assert!(cache.get("h1").is_none(), "a stale answer was put back after the invalidation");
        cache.insert("h1".into(), owner(), cache.generation());
        assert!(cache.get("h1").is_some());
    }
}
