//! Request rate limits: one token bucket per API key and one per authorization.
//!
//! A request over either limit is answered 429 `rate_limited` with `Retry-After` before any handler work, so it stores
//! nothing and carries no per-scope results. This is a server-wide guard against a runaway caller; it is not the
//! per-scope `max_per_day` of a policy (deny `rate_limit_exceeded`, a decision with a receipt).
//!
//! The check runs on every authenticated request, so it must never wait: the buckets live in a fixed number of
//! shards, each a `std::sync::Mutex` held only for the arithmetic of one bucket (never across an `.await`). Idle
//! buckets are dropped by a sweep of the shard being touched: a bucket that has refilled completely is equivalent to
//! no bucket, so forgetting it changes no answer and keeps memory bounded by the callers active in the last minute.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 64;
/// How often a shard drops its idle buckets (the next request touching the shard after this long does it).
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Sustained rate and burst of one kind of bucket. A `per_second` of 0 turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket size: how many requests may arrive at once after a quiet spell.
    pub burst: u32,
}

impl Limit {
    pub const fn new(per_second: f64, burst: u32) -> Self {
        Limit { per_second, burst }
    }

    /// No limit at all.
    pub const OFF: Limit = Limit { per_second: 0.0, burst: 0 };

    fn enabled(&self) -> bool {
        self.per_second > 0.0 && self.burst > 0
    }
}

/// The limits `allowly serve` applies (its `--rate-limit-*` flags). The defaults are far above what one interactive
/// agent or the project's demo and test suites send, and low enough that a runaway loop is stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub per_key: Limit,
    pub per_authorization: Limit,
}

impl RateLimits {
    pub const DEFAULT_PER_KEY: Limit = Limit::new(1000.0, 2000);
    pub const DEFAULT_PER_AUTHORIZATION: Limit = Limit::new(200.0, 400);
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { per_key: Self::DEFAULT_PER_KEY, per_authorization: Self::DEFAULT_PER_AUTHORIZATION }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(&self, limit: Limit, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * limit.per_second).min(f64::from(limit.burst))
    }
}

#[derive(Debug)]
struct Shard<K> {
    buckets: HashMap<K, Bucket>,
    swept: Instant,
}

/// Buckets of one kind (keys or authorizations), keyed by `K`.
#[derive(Debug)]
pub struct Buckets<K> {
    limit: Limit,
    shards: Vec<Mutex<Shard<K>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    pub fn new(limit: Limit) -> Self {
        let now = Instant::now();
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard { buckets: HashMap::new(), swept: now })).collect();
        Buckets { limit, shards, hasher: Default::default() }
    }

    /// Takes one token for `key` at `now`: `Ok` when the request may proceed, else how long until a token is there
    /// (whole seconds, at least 1, as `Retry-After` states it).
    pub fn take(&self, key: &K, now: Instant) -> Result<(), u64> {
        if !self.limit.enabled() {
            return Ok(());
        }
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        // A poisoned shard only means another request panicked mid-arithmetic; the numbers are still usable.
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_duration_since(shard.swept) >= SWEEP_EVERY {
            let limit = self.limit;
            shard.buckets.retain(|_, b| b.refilled(limit, now) < f64::from(limit.burst));
            shard.swept = now;
        }
        let full = f64::from(self.limit.burst);
        let bucket = shard.buckets.entry(key.clone()).or_insert(Bucket { tokens: full, at: now });
        let tokens = bucket.refilled(self.limit, now);
        if tokens >= 1.0 {
            *bucket = Bucket { tokens: tokens - 1.0, at: now };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            let wait = (1.0 - tokens) / self.limit.per_second;
            Err((wait.ceil() as u64).max(1))
        }
    }

    /// How many buckets are held (tests check that idle ones go).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).buckets.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Both kinds of buckets of one server process.
#[derive(Debug)]
pub struct Limiter {
    /// Keyed by the SHA-256 of the API key (the key text itself is never kept).
    pub keys: Buckets<String>,
    /// Keyed by (workspace, authorization id), so two workspaces never share a bucket.
    pub authorizations: Buckets<(String, String)>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Self {
        Limiter { keys: Buckets::new(limits.per_key), authorizations: Buckets::new(limits.per_authorization) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn a_burst_is_served_then_refused_with_the_time_to_the_next_token() {
        let b = Buckets::new(Limit::new(2.0, 3));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.take(&"k", t0), Ok(()));
        }
        // Empty: the next token arrives after 0.5 s, stated as 1 whole second.
        assert_eq!(b.take(&"k", t0), Err(1));
        // Another caller has its own bucket.
        assert_eq!(b.take(&"other", t0), Ok(()));
        assert_eq!(b.take(&"k", at(t0, 500)), Ok(()));
        assert_eq!(b.take(&"k", at(t0, 500)), Err(1));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let b = Buckets::new(Limit::new(0.25, 1));
        let t0 = Instant::now();
        assert_eq!(b.take(&1, t0), Ok(()));
        assert_eq!(b.take(&1, t0), Err(4));
        assert_eq!(b.take(&1, at(t0, 1000)), Err(3));
        assert_eq!(b.take(&1, at(t0, 4000)), Ok(()));
    }

    #[test]
    fn refused_requests_take_no_token() {
        let b = Buckets::new(Limit::new(1.0, 1));
        let t0 = Instant::now();
        assert_eq!(b.take(&1, t0), Ok(()));
        for _ in 0..10 {
            assert!(b.take(&1, at(t0, 100)).is_err());
        }
        assert_eq!(b.take(&1, at(t0, 1000)), Ok(()));
    }

    #[test]
    fn an_off_limit_never_refuses_and_keeps_nothing() {
        let b = Buckets::new(Limit::OFF);
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(b.take(&"k", t0), Ok(()));
        }
        assert!(b.is_empty());
    }

    #[test]
    fn idle_buckets_are_swept() {
        let b = Buckets::new(Limit::new(10.0, 5));
        let t0 = Instant::now();
        for i in 0..500u32 {
            assert_eq!(b.take(&i, t0), Ok(()));
        }
        assert_eq!(b.len(), 500);
        // After the sweep interval every bucket has refilled: touching a shard drops its idle buckets.
        let later = t0 + SWEEP_EVERY + Duration::from_secs(1);
        // Enough fresh keys that every shard is touched (the chance one of 64 shards misses 2,560 keys is e^-40).
        let fresh = 40 * SHARDS as u32;
        for i in 1000..1000 + fresh {
            assert_eq!(b.take(&i, later), Ok(()));
        }
        assert_eq!(b.len(), fresh as usize, "only the buckets touched since the sweep remain");
    }
}
