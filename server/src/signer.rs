//! The signer task: turns pending receipt rows into signed receipts and wakes the requests waiting for them.
//!
//! Signing is off the decision path for events and on PostgreSQL (a decision commits its pending row and answers at
//! once); a SQLite check signs its own receipts in its transaction with [`sign_payload`]. The task signs in
//! batches with the key whose active window contains each receipt's `issued_at` — not simply the newest key — so a
//! receipt decided just before a rotation still verifies. Canonical bytes and the signature come from allowly-core,
//! the same code the verifiers use, so the two cannot drift. On start the first pass signs whatever a previous
//! process left pending. Several processes may share a PostgreSQL database: each claims its batch with
//! `FOR UPDATE SKIP LOCKED` (see `store::receipts::pending_batch`), so every receipt is signed by exactly one.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::crypto::MasterKey;
use crate::store::signing_keys::{self, ActiveKey};
use crate::store::{Dialect, Store, receipts};

const BATCH: i64 = 256;
/// The least time between the starts of two passes woken by commits. An idle signer signs a new receipt at once;
/// under steady traffic a pass then signs the several receipts committed meanwhile (one read, one write transaction)
/// instead of running once per check and competing with the next check for the cores and the write lock. It adds at
/// most this much to the time until a receipt is signed, and only when the previous pass was this recent.
const MIN_PASS_INTERVAL: Duration = Duration::from_millis(2);
/// Upper bound on how long a pending row can wait if a wake-up is ever missed.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Shared between the task and the routes.
#[derive(Debug)]
pub struct SignerHandle {
    kick: Notify,
    keys_changed: AtomicBool,
    running: AtomicBool,
    signed: watch::Sender<u64>,
    /// Rows this process marked signed.
    rows_signed: AtomicU64,
    /// Rows this process signed but found already signed by someone else (wasted work; zero when claims work).
    rows_lost: AtomicU64,
}

impl SignerHandle {
    /// Tells the task that new pending rows were committed.
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// Tells the task to reload keys (after a rotation).
    pub fn keys_changed(&self) {
        self.keys_changed.store(true, Ordering::SeqCst);
        self.kick();
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// A receiver that changes after every signed batch; subscribe *before* reading a row to never miss a wake-up.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.signed.subscribe()
    }

    /// Receipts a check signed in its own transaction (SQLite), counted with the rows this task signed.
    pub fn signed_inline(&self, n: u64) {
        self.rows_signed.fetch_add(n, Ordering::SeqCst);
    }

    /// `(signed, lost)`: rows this process signed, and rows it signed in vain because another signer got there first.
    pub fn stats(&self) -> (u64, u64) {
        (self.rows_signed.load(Ordering::SeqCst), self.rows_lost.load(Ordering::SeqCst))
    }
}

/// Starts the task; it stops when `shutdown` flips to true.
pub fn spawn(store: Store, master: MasterKey, mut shutdown: watch::Receiver<bool>) -> Arc<SignerHandle> {
    let (signed, _) = watch::channel(0u64);
    let handle = Arc::new(SignerHandle {
        kick: Notify::new(),
        keys_changed: AtomicBool::new(true),
        running: AtomicBool::new(true),
        signed,
        rows_signed: AtomicU64::new(0),
        rows_lost: AtomicU64::new(0),
    });
    let h = handle.clone();
    tokio::spawn(async move {
        let mut keys: Vec<ActiveKey> = Vec::new();
        let mut failed: HashSet<String> = HashSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let pass_started = tokio::time::Instant::now();
            let pass = match sign_batch(&store, &master, &h, &mut keys, &mut failed).await {
                Ok(pass) => pass,
                Err(e) => {
                    tracing::error!(error = %e, "receipt signing pass failed");
                    Pass::default()
                }
            };
            if pass.signed > 0 {
                h.signed.send_modify(|g| *g += 1);
            }
            // A full batch may have left rows behind: read again at once. A partial one took every row committed
            // before it was read, and a row committed since has kicked (a stored permit), so wait for that kick
            // rather than spend a query per batch finding nothing.
            if pass.full {
                continue;
            }
            tokio::select! {
                _ = h.kick.notified() => tokio::time::sleep_until(pass_started + MIN_PASS_INTERVAL).await,
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        h.running.store(false, Ordering::SeqCst);
    });
    handle
}

/// What one signing pass did.
#[derive(Debug, Default)]
struct Pass {
    /// Rows signed.
    signed: usize,
    /// The read returned a whole batch, so more rows may be pending.
    full: bool,
}

/// Signs one batch.
async fn sign_batch(
    store: &Store,
    master: &MasterKey,
    h: &SignerHandle,
    keys: &mut Vec<ActiveKey>,
    failed: &mut HashSet<String>,
) -> Result<Pass, String> {
    let db = |e: sqlx::Error| format!("database: {e}");
    // PostgreSQL: rows are claimed in the transaction that marks them signed. SQLite: they are read without the write
    // lock (signing a batch takes a while, and decisions would wait for it), then marked in a short write
    // transaction; `mark_signed_batch` only changes rows still pending, so a second signer can waste work but not sign twice.
    let mut claim = match store.dialect() {
        Dialect::Postgres => Some(store.begin().await.map_err(db)?),
        Dialect::Sqlite => None,
    };
    let mut pooled;
    let conn: &mut sqlx::AnyConnection = match claim.as_mut() {
        Some(tx) => tx,
        None => {
            pooled = store.reader().acquire().await.map_err(db)?;
            &mut pooled
        }
    };
    let rows = receipts::pending_batch(conn, BATCH).await.map_err(db)?;
    let full = i64::try_from(rows.len()).is_ok_and(|n| n >= BATCH);
    let rows: Vec<_> = rows.into_iter().filter(|r| !failed.contains(&r.id)).collect();
    if rows.is_empty() {
        return Ok(Pass { signed: 0, full: false });
    }
    // Counted after the rows were read, so a key rotated (here or by another process) before any of these receipts
    // was issued is already visible (see `signing_keys::lock_for_rotation`).
    let key_count = signing_keys::count(conn).await.map_err(db)?;
    if h.keys_changed.swap(false, Ordering::SeqCst) || keys.is_empty() || usize::try_from(key_count) != Ok(keys.len()) {
        *keys = signing_keys::load_all(conn, master).await?;
    }
    let mut signed = Vec::with_capacity(rows.len());
    for row in &rows {
        match sign_row(row, keys) {
            Ok(s) => signed.push((row.id.clone(), s)),
            Err(e) => {
                // A row that cannot be signed must not block the queue; it stays pending for a later process.
                tracing::error!(receipt_id = %row.id, error = %e, "cannot sign receipt");
                failed.insert(row.id.clone());
                h.keys_changed.store(true, Ordering::SeqCst);
            }
        }
    }
    if signed.is_empty() {
        return Ok(Pass { signed: 0, full: false });
    }
    let count = signed.len();
    let won = match claim {
        Some(mut tx) => {
            let won = receipts::mark_signed_batch(&mut tx, &signed).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
            won
        }
        // SQLite: the marks join the decisions' group commit, sharing its fsync instead of adding one per pass.
        None => {
            let rows = std::mem::take(&mut signed);
            store
                .write(move |w| Box::pin(async move { receipts::mark_signed_batch(w.tx().await?, &rows).await }))
                .await
                .map_err(db)?
        }
    };
    h.rows_signed.fetch_add(won, Ordering::SeqCst);
    h.rows_lost.fetch_add(count as u64 - won, Ordering::SeqCst);
    Ok(Pass { signed: count, full })
}

fn sign_row(row: &receipts::PendingRow, keys: &[ActiveKey]) -> Result<String, String> {
    let payload: Value = serde_json::from_str(&row.payload).map_err(|e| format!("stored payload: {e}"))?;
    sign_payload(keys, &row.workspace_id, &row.issued_at, payload)
}

/// A receipt's signed text from its payload (`receipts::Draft::payload`), with the workspace key whose active window
/// contains `issued_at`: what the signer stores for a pending row, and what a SQLite check stores at once.
pub fn sign_payload(
    keys: &[ActiveKey],
    workspace_id: &str,
    issued_at: &str,
    mut payload: Value,
) -> Result<String, String> {
    let key = keys
        .iter()
        .find(|k| {
            k.workspace_id == workspace_id
                && k.active_from.as_str() <= issued_at
                && k.active_until.as_deref().is_none_or(|u| issued_at < u)
        })
        .ok_or_else(|| "no signing key is active at the receipt's issued_at".to_string())?;
    // Wire 5 (receipts about a policy-granted authorization): the payload is complete; the key goes in the JWS
    // header.
    if payload["schema_version"] == receipts::SCHEMA_VERSION_JWS {
        let jws = allowly_core::receipt::sign::sign_receipt_jws(&payload, &key.key_id, &key.signing_key)
            .map_err(|e| e.to_string())?;
        return Ok(jws.to_string());
    }
    let Value::Object(m) = &mut payload else { return Err("stored payload is not an object".into()) };
    m.insert("alg".into(), Value::String("Ed25519".into()));
    m.insert("key_id".into(), Value::String(key.key_id.clone()));
    let signed = allowly_core::receipt::sign::sign_receipt(&payload, &key.signing_key).map_err(|e| e.to_string())?;
    Ok(signed.to_string())
}
