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

use axum::extract::{FromRequest, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::AppState;
use crate::error::ApiError;

/// Paths never shed (liveness, readiness, metrics).
const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// `Retry-After` of a refused request: a busy spell of a loaded server passes within about a second.
pub const RETRY_AFTER_SECS: u64 = 1;

/// After a refusal the queue counts as standing for this long: the load exceeds the capacity, it is not a burst that
/// will drain. The idea is CoDel's (Nichols and Jacobson, "Controlling Queue Delay", 2012) as servers apply it to
/// request queues (Facebook, "Fail at Scale", 2015): a burst deserves a wait, since it will be served; a standing
/// queue only adds its wait to every answer. The signal is a refusal — the queue full, or a request that waited its
/// whole time — because two others failed when measured: "the queue has not emptied for 100 ms" flipped back to long
/// waits whenever a descheduled process's waiters timed out together (admitted p99 ~0.6 s at twice the capacity),
/// and "no slot has come free for 100 ms" refused part of 150 parallel checks in a debug build whose connections
/// took longer than that to open (a server test).
pub const STANDING_QUEUE: Duration = Duration::from_millis(100);

/// The longest wait for a slot once the queue is standing: about one group commit, so a request that joins a moving
/// queue still gets in, and one that would not is refused while the refusal is still cheap for its client.
pub const STANDING_QUEUE_WAIT: Duration = Duration::from_millis(10);

/// The gate's limits (`allowly serve --max-in-flight`, `--max-queue`, `--max-queue-wait-ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests in progress at once; 0 turns overload control off entirely.
    pub max_in_flight: u32,
    /// Requests waiting for a slot at once; 0 means none wait (a request finding every slot busy is refused).
    pub max_queue: u32,
    /// The longest a request waits for a slot while the queue is a burst (see [`STANDING_QUEUE`]); zero means it
    /// does not wait. While the queue is standing, a request waits at most [`STANDING_QUEUE_WAIT`] (or this, if less).
    pub max_queue_wait: Duration,
}

impl Limits {
    /// 64 in progress: 2 cores reach their throughput with a few dozen checks in progress (each mostly waits on the
    /// group commit), and each slot more is queueing inside the server where no bound applies — at twice the
    /// capacity, 256 slots gave admitted checks a p99 of 0.6 s, 64 gave 0.17 s (bench/README, "Overload"). A burst
    /// of up to 320 parallel calls is served, its queued part waiting up to a second; a larger one fills the queue,
    /// whose refusals make it standing, and from then on a request waits [`STANDING_QUEUE_WAIT`]. The queue's 256 so
    /// bound the onset of an overload too: 256 requests that joined as a burst pass in ~0.1 s at 2,000 checks/s.
    pub const DEFAULT: Limits = Limits { max_in_flight: 64, max_queue: 256, max_queue_wait: Duration::from_secs(1) };

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
    shed: [AtomicU64; 2],
    /// When a request was last refused, in microseconds since `epoch` (0: never).
    last_shed_us: AtomicU64,
    epoch: Instant,
}

/// Why a request was refused (a label of `allowly_requests_shed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// Every slot busy and the queue full (or no queue).
    QueueFull,
    /// It waited the longest allowed time without getting a slot.
    QueueTimeout,
}

impl Shed {
    pub const ALL: [Shed; 2] = [Shed::QueueFull, Shed::QueueTimeout];

    /// The `reason` label of `allowly_requests_shed_total`.
    pub fn label(self) -> &'static str {
        match self {
            Shed::QueueFull => "queue_full",
            Shed::QueueTimeout => "queue_timeout",
        }
    }
}

impl Admission {
    pub fn new(limits: Limits) -> Self {
        let slots = usize::try_from(limits.max_in_flight).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS);
        Admission {
            limits,
            slots: Arc::new(Semaphore::new(slots)),
            queued: AtomicU32::new(0),
            shed: Default::default(),
            last_shed_us: AtomicU64::new(0),
            epoch: Instant::now(),
        }
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
        let wait = match self.standing() {
            true => self.limits.max_queue_wait.min(STANDING_QUEUE_WAIT),
            false => self.limits.max_queue_wait,
        };
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

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether a request was refused within the last [`STANDING_QUEUE`].
    fn standing(&self) -> bool {
        let window = u64::try_from(STANDING_QUEUE.as_micros()).unwrap_or(u64::MAX);
        let shed = self.last_shed_us.load(Ordering::Relaxed);
        shed > 0 && self.now_us().saturating_sub(shed) <= window
    }

    fn refuse(&self, why: Shed) -> Shed {
        self.shed[why as usize].fetch_add(1, Ordering::Relaxed);
        self.last_shed_us.store(self.now_us().max(1), Ordering::Relaxed);
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
        Shed::ALL.iter().map(|why| self.shed(*why)).sum()
    }

    /// Requests refused since start for one reason.
    pub fn shed(&self, why: Shed) -> u64 {
        self.shed[why as usize].load(Ordering::Relaxed)
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

/// Moves the current request's slot (if any) onto `task`, a future about to be spawned as the task that really runs
/// the handler: the slot is then held until the handler finishes even if the request's own future is dropped (the
/// client hung up), and [`release_slot`] inside the handler finds it.
pub fn carry_slot<F: Future>(task: F) -> impl Future<Output = F::Output> {
    let slot = SLOT.try_with(|slot| slot.borrow_mut().take()).ok().flatten();
    SLOT.scope(RefCell::new(slot), task)
}

/// The middleware: admits, queues or refuses every request except the exempt paths. It is the router's outermost
/// layer, so a refusal costs as little as it can — no span, no metrics timing, no spawned task; only the refusal
/// counter (`allowly_requests_shed_total`) sees it. At twice the capacity refusals outnumber admitted checks, and
/// whatever a refusal costs is CPU the admitted ones do not get (measured in bench/README, "Overload"). The slot
/// rides into the handler's task with [`carry_slot`].
pub async fn gate(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if EXEMPT.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match s.admission.admit().await {
        Ok(permit) => SLOT.scope(RefCell::new(permit), next.run(req)).await,
        Err(_) => {
            drain_body(req).await;
            ApiError::overloaded(RETRY_AFTER_SECS).into_response()
        }
    }
}

/// The longest a refusal waits for the rest of a request body it discards.
const DRAIN_WAIT: Duration = Duration::from_millis(100);

/// Reads and discards a refused request's body (up to the 64 KiB any request may carry, for at most [`DRAIN_WAIT`]).
/// hyper closes a connection whose request body was left unread unless the whole body had already arrived, and a
/// client's body often follows its headers in a second segment (`a_refused_request_keeps_its_connection` shows the
/// close without this). A closed connection costs the client a reconnection, and past capacity the listen queue
/// overflows (measured at twice the capacity), so a reconnection can wait out TCP's one-second SYN retransmission.
/// It reads with the handlers' own [`Body`](crate::routes::Body) extractor, so the limit is theirs: a body declared
/// larger is not read at all (closing the connection is then the cheaper refusal).
async fn drain_body(req: Request) {
    let _ = tokio::time::timeout(DRAIN_WAIT, crate::routes::Body::from_request(req, &())).await;
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

    #[tokio::test(start_paused = true)]
    async fn a_refusal_makes_the_queue_standing_and_its_waits_short() {
        let gate = Arc::new(Admission::new(limits(1, 1, 1_000)));
        let held = gate.admit().await.expect("slot");
        let first = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit().await }
        });
        while gate.queued() == 0 {
            tokio::task::yield_now().await;
        }
        // A burst may be slow to drain (or to arrive): without a refusal it stays a burst.
        tokio::time::advance(STANDING_QUEUE * 2).await;
        assert!(!gate.standing(), "no refusal yet: a burst");
        assert_eq!(gate.admit().await.err(), Some(Shed::QueueFull), "the queue of one is full");
        assert!(gate.standing(), "refused just now");
        drop(held);
        let first = first.await.expect("join").expect("the burst's request still got its slot");
        // The next request joins a standing queue: it waits STANDING_QUEUE_WAIT, not the 1 s a burst may wait.
        let joined_at = Instant::now();
        assert_eq!(gate.admit().await.err(), Some(Shed::QueueTimeout));
        assert_eq!(joined_at.elapsed(), STANDING_QUEUE_WAIT);
        // No refusal for STANDING_QUEUE: a request may wait the burst's full time again.
        tokio::time::advance(STANDING_QUEUE + Duration::from_millis(1)).await;
        assert!(!gate.standing());
        let next = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit().await.map(|p| p.is_some()) }
        });
        while gate.queued() == 0 {
            tokio::task::yield_now().await;
        }
        tokio::time::advance(Duration::from_millis(500)).await;
        drop(first);
        assert_eq!(next.await.expect("join"), Ok(true), "waited 500 ms, within the burst's 1 s");
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
    async fn a_carried_slot_is_held_by_the_spawned_task_until_it_finishes() {
        let gate = Arc::new(Admission::new(limits(1, 0, 0)));
        let permit = gate.admit().await.expect("slot");
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let gate2 = gate.clone();
        let task = SLOT.sync_scope(RefCell::new(permit), || {
            tokio::spawn(carry_slot(async move {
                let _ = finished.await;
                release_slot(); // finds the carried slot
                gate2.in_flight()
            }))
        });
        // The request's own future is gone (as when the client hangs up); the handler's task still holds the slot.
        assert_eq!(gate.in_flight(), 1);
        assert_eq!(gate.admit().await.err(), Some(Shed::QueueFull));
        finish.send(()).expect("task waiting");
        assert_eq!(task.await.expect("join"), 0, "release_slot in the task gave the carried slot back");
        assert!(gate.admit().await.is_ok());
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
