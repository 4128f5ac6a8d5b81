//! Which webhook ids a receiver has already accepted, so a captured delivery replayed within the timestamp tolerance
//! is refused. Ids only need remembering until their timestamp leaves the tolerance window: after that the timestamp
//! check refuses them anyway, which is what keeps the in-memory store bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// A receiver's memory of accepted webhook ids. Implement it over your own database to share it between processes.
/// No `Send`/`Sync` bound: a store is only borrowed for one verification.
pub trait SeenIds {
    /// Records `id` as accepted and returns `true`, or returns `false` if it was already recorded (a replay).
    /// `forget_after` is the Unix second after which the id may be dropped. Must be atomic per id: of two
    /// concurrent calls with one id, one returns `false`.
    fn check_and_record(&self, id: &str, forget_after: i64) -> bool;
}

/// The default store: ids in memory, at most `capacity` of them. Ids past their `forget_after` are dropped first;
/// when the store is still full the oldest id is dropped (a replay of it would then pass, so size it above the
/// number of deliveries a receiver takes within twice the tolerance).
#[derive(Debug)]
pub struct MemorySeenIds {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    ids: HashMap<String, i64>,
    order: VecDeque<String>,
}

impl MemorySeenIds {
    /// The capacity of [`MemorySeenIds::default`].
    pub const DEFAULT_CAPACITY: usize = 100_000;

    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), state: Mutex::new(State::default()) }
    }

    /// How many ids are remembered now.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemorySeenIds {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl SeenIds for MemorySeenIds {
    fn check_and_record(&self, id: &str, forget_after: i64) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.ids.contains_key(id) {
            return false;
        }
        if s.ids.len() >= self.capacity {
            let State { ids, order } = &mut *s;
            ids.retain(|_, until| *until >= now);
            order.retain(|k| ids.contains_key(k));
            while ids.len() >= self.capacity {
                match order.pop_front() {
                    Some(oldest) => {
                        ids.remove(&oldest);
                    }
                    None => break,
                }
            }
        }
        s.ids.insert(id.to_owned(), forget_after);
        s.order.push_back(id.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_accepted_once_and_the_store_stays_bounded() {
        let store = MemorySeenIds::new(3);
        let later = i64::MAX;
        assert!(store.check_and_record("a", later));
        assert!(!store.check_and_record("a", later));
        for id in ["b", "c", "d", "e"] {
            assert!(store.check_and_record(id, later));
        }
        assert_eq!(store.len(), 3);
        assert!(!store.check_and_record("e", later), "recent ids are kept");
    }

    #[test]
    fn expired_ids_are_dropped_before_live_ones() {
        let store = MemorySeenIds::new(2);
        assert!(store.check_and_record("old", 0));
        assert!(store.check_and_record("live", i64::MAX));
        assert!(store.check_and_record("new", i64::MAX));
        assert!(!store.check_and_record("live", i64::MAX), "the expired id made room, not the live one");
    }
}
