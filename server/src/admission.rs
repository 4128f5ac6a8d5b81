//! Overload control: a bounded number of requests in progress and a short, bounded queue in front of them.
//!
//! Past its capacity a server that admits everything only gets slower for everyone: every request shares the same
//! two cores, queues grow inside the runtime, and latency climbs toward seconds while throughput stays flat. Here a
//! request beyond the limit waits in a FIFO queue that is bounded twice — by count and by time — and a request that
//! would wait longer is refused at once with 503 `overloaded` and `Retry-After`, before any work: no key lookup, no
//! body read, nothing stored. A refusal is cheap and honest; a late answer is neither. The SDKs treat that 503 like an
//! unreachable server (their fail-closed fallback), so a client sees the same outcome sooner.
//!
//! Health and metrics routes bypass the gate: an operator must see an overloaded server as alive and busy, not dead.
//! A long poll (`?wait=true`, `wait_ms`) gives its slot back while it only waits for the signer ([`release_slot`]),
//! so idle waiters cannot fill the slots and starve the requests that do work.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AppState;
use crate::error::ApiError;

/// Paths never shed (liveness, readiness, metrics).
const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// `Retry-After` of a refused request: a busy spell of a loaded server passes within about a second.
pub const RETRY_AFTER_SECS: u64 = 1;

/// The gate's limits (`allowly serve --max-in-flight`, `--max-queue`, `--max-queue-wait-ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests in progress at once; 0 turns overload control off entirely.
    pub max_in_flight: u32,
    /// Requests waiting for a slot at once; 0 means none wait (a request finding every slot busy is refused).
    pub max_queue: u32,
    /// The longest a request waits for a slot before it is refused; zero means it does not wait.
    pub max_queue_wait: Duration,
}

impl Limits {
    /// Far above what 2 cores need to reach their throughput (a check at capacity keeps a few dozen in progress,
    /// waiting on the group commit), so a normal load never queues; at twice the capacity the queue bound keeps
    /// admitted requests within ~100 ms instead of letting them wait seconds.
    pub const DEFAULT: Limits =
        Limits { max_in_flight: 256, max_queue: 1024, max_queue_wait: Duration::from_millis(50) };

    /// No overload control.
    pub const OFF: Limits = Limits { max_in_flight: 0, max_queue: 0, max_queue_wait: Duration::ZERO };

    fn enabled(&self) -> bool {
        self.max_in_flight > 0
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The gate of one server process and its counters (read by `/metrics` and the tests).
#[derive(Debug)]
pub struct Admission {
    limits: Limits,
    slots: Arc<Semaphore>,
    queued: AtomicU32,
    shed: AtomicU64,
}

/// Why a request was refused (a label of `allowly_requests_shed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// Every slot busy and the queue full (or no queue).
    QueueFull,
    /// It waited the longest allowed time without getting a slot.
    QueueTimeout,
}

impl Admission {
    pub fn new(limits: Limits) -> Self {
        let slots = usize::try_from(limits.max_in_flight).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS);
        Admission { limits, slots: Arc::new(Semaphore::new(slots)), queued: AtomicU32::new(0), shed: AtomicU64::new(0) }
    }

    /// A slot for one request (`None` when the gate is off), or why there is none.
    pub async fn admit(&self) -> Result<Option<OwnedSemaphorePermit>, Shed> {
        if !self.limits.enabled() {
            return Ok(None);
        }
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(Some(permit));
        }
        let max_queue = self.limits.max_queue;
        let wait = self.limits.max_queue_wait;
        let joined =
            self.queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max_queue).then_some(n + 1));
        if joined.is_err() || wait.is_zero() {
            if joined.is_ok() {
                self.queued.fetch_sub(1, Ordering::AcqRel);
            }
            return Err(self.refuse(Shed::QueueFull));
        }
        // The semaphore is fair (FIFO), so the queue is served in arrival order. The guard leaves the queue even if
        // this future is dropped mid-wait.
        let _in_queue = QueueSeat(&self.queued);
        match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            // The semaphore is never closed; treat it like a timeout rather than admitting past the limit.
            Ok(Err(_)) | Err(_) => Err(self.refuse(Shed::QueueTimeout)),
        }
    }

    fn refuse(&self, why: Shed) -> Shed {
        self.shed.fetch_add(1, Ordering::Relaxed);
        why
    }

    /// Requests holding a slot now.
    pub fn in_flight(&self) -> u32 {
        let free = u32::try_from(self.slots.available_permits()).unwrap_or(u32::MAX);
        self.limits.max_in_flight.saturating_sub(free)
    }

    /// Requests waiting for a slot now.
    pub fn queued(&self) -> u32 {
        self.queued.load(Ordering::Acquire)
    }

    /// Requests refused since start.
    pub fn shed_total(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
}

/// Leaves the queue count when dropped (admitted, refused or abandoned alike).
struct QueueSeat<'a>(&'a AtomicU32);

impl Drop for QueueSeat<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

tokio::task_local! {
    /// The slot of the request this task serves, so a handler deep in the call tree can give it back.
    static SLOT: RefCell<Option<OwnedSemaphorePermit>>;
}

/// Gives the current request's slot back: called before a long poll waits for the signer, which needs no CPU and
/// may last seconds. The request keeps running; it simply no longer counts as in progress. A no-op outside the gate.
pub fn release_slot() {
    let _ = SLOT.try_with(|slot| drop(slot.borrow_mut().take()));
}

/// The middleware: admits, queues or refuses every request except the exempt paths. It runs inside the task that
/// `run_to_completion` spawns, so a slot is held until the handler really finishes, even if the client hung up.
pub async fn gate(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if EXEMPT.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match s.admission.admit().await {
        Ok(permit) => SLOT.scope(RefCell::new(permit), next.run(req)).await,
        Err(why) => {
            s.metrics.shed(why);
            ApiError::overloaded(RETRY_AFTER_SECS).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_in_flight: u32, max_queue: u32, wait_ms: u64) -> Limits {
        Limits { max_in_flight, max_queue, max_queue_wait: Duration::from_millis(wait_ms) }
    }

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_requests_are_refused() {
        let gate = Admission::new(limits(2, 0, 1000));
        let a = gate.admit().await.expect("first slot");
        let _b = gate.admit().await.expect("second slot");
        assert_eq!(gate.in_flight(), 2);
        assert_eq!(gate.admit().await.err(), Some(Shed::QueueFull));
        assert_eq!(gate.shed_total(), 1);
        drop(a);
        assert!(gate.admit().await.is_ok(), "a freed slot is taken again");
    }

    #[tokio::test]
    async fn a_queued_request_gets_the_next_free_slot() {
        let gate = Arc::new(Admission::new(limits(1, 1, 60_000)));
        let held = gate.admit().await.expect("slot");
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit().await.map(|p| p.is_some()) }
        });
        while gate.queued() == 0 {
            tokio::task::yield_now().await;
        }
        // The queue holds one: the next is refused at once, without waiting.
        assert_eq!(gate.admit().await.err(), Some(Shed::QueueFull));
        drop(held);
        assert_eq!(waiter.await.expect("join"), Ok(true));
        assert_eq!(gate.queued(), 0);
    }

    #[tokio::test]
    async fn a_request_that_would_wait_too_long_is_refused() {
        let gate = Admission::new(limits(1, 4, 20));
        // The slot is never given back, so the outcome does not depend on how long the wait really takes.
        let _held = gate.admit().await.expect("slot");
        assert_eq!(gate.admit().await.err(), Some(Shed::QueueTimeout));
        assert_eq!(gate.queued(), 0, "a refused request leaves the queue");
        assert_eq!(gate.shed_total(), 1);
    }

    #[tokio::test]
    async fn zero_in_flight_turns_the_gate_off() {
        let gate = Admission::new(Limits::OFF);
        let mut held = Vec::new();
        for _ in 0..10_000 {
            held.push(gate.admit().await);
        }
        assert!(held.iter().all(|p| matches!(p, Ok(None))), "admitted without a slot to hold");
        assert_eq!(gate.shed_total(), 0);
    }

    #[tokio::test]
    async fn a_released_slot_lets_the_next_request_in() {
        let gate = Arc::new(Admission::new(limits(1, 0, 0)));
        let permit = gate.admit().await.expect("slot");
        SLOT.scope(RefCell::new(permit), async {
            assert_eq!(gate.in_flight(), 1);
            release_slot();
            assert_eq!(gate.in_flight(), 0, "the long poll no longer holds its slot");
        })
        .await;
        release_slot(); // outside a request: nothing to give back
        assert!(gate.admit().await.is_ok());
    }
}
