//! The database layer. Routes call the functions of these modules with domain values and never write SQL.
//!
//! One set of queries serves SQLite (WAL, the embedded default) and PostgreSQL through sqlx's `Any` driver, so the
//! two backends cannot drift apart: the SQL sticks to what both share (`$n` placeholders, BIGINT / TEXT / BLOB-or-
//! BYTEA columns, `ON CONFLICT`, aggregates cast to BIGINT because `Any` cannot decode NUMERIC), and the few places
//! that must differ ask [`Dialect`]. Both backends are exercised by the same test suite.
//!
//! Every decision runs in one write transaction whose reads of counters (budget, `max_per_day`, pending
//! confirmations) no concurrent decision may invalidate before it commits. How that is guaranteed differs:
//!
//! - **SQLite**: the transaction opens with `BEGIN IMMEDIATE`, which takes the database write lock up front, so
//!   decisions serialize even across processes. Writes go through a one-connection pool so in-process writers queue
//!   in Rust rather than spinning on `SQLITE_BUSY`; reads (auth lookups, receipt polling) use a separate pool.
//! - **PostgreSQL** (READ COMMITTED, one pool, any number of server processes on one database): a decision first
//!   locks the row it is about — the authorization ([`authorizations::get_locked`]), the budget reservation, the
//!   confirmation — with `SELECT … FOR UPDATE`, so decisions on one authorization serialize while others run in
//!   parallel, and every later statement sees what the previous lock holder committed. Single-use transitions are
//!   conditional updates (`… WHERE status = 'pending'`), which PostgreSQL re-checks against the committed row after
//!   waiting, so exactly one writer wins. Requests with the same `Idempotency-Key` serialize on a transaction-scoped
//!   advisory lock ([`idempotency::lookup`]); key rotation and bootstrap take table locks
//!   ([`signing_keys::lock_for_rotation`], [`api_keys::lock_for_bootstrap`]); the signer claims pending receipts with
//!   `FOR UPDATE SKIP LOCKED` ([`receipts::pending_batch`]) so several processes sign disjoint batches.

pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod authorizations;
pub mod confirmations;
pub mod decision_cache;
pub mod escalations;
pub mod idempotency;
pub mod key_cache;
mod lane;
pub mod members;
pub mod policies;
pub mod receipts;
pub mod resolution_webhooks;
pub mod signing_keys;
pub mod webhooks;
mod writer;

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

pub use lane::LaneStats;
pub use writer::{Deferred, Insert, Val, Writer};

use futures_util::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions as _, Executor as _, Transaction};
use tokio::sync::oneshot;

/// A decision transaction (`BEGIN IMMEDIATE` on SQLite; READ COMMITTED plus row locks on PostgreSQL).
pub type Tx = Transaction<'static, Any>;

/// The read pool type.
pub type Pool = AnyPool;

/// Migrations are embedded so an installed binary needs no files next to it.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "setup", include_str!("../../migrations/sqlite/0002_setup.sql")),
    (3, "policies", include_str!("../../migrations/sqlite/0003_policies.sql")),
    (4, "bound_confirmations", include_str!("../../migrations/sqlite/0004_bound_confirmations.sql")),
    (5, "resolution_webhooks", include_str!("../../migrations/sqlite/0005_resolution_webhooks.sql")),
    (6, "agent_identity", include_str!("../../migrations/sqlite/0006_agent_identity.sql")),
    (7, "audit_action", include_str!("../../migrations/sqlite/0007_audit_action.sql")),
    (8, "escalation_approvers", include_str!("../../migrations/sqlite/0008_escalation_approvers.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "setup", include_str!("../../migrations/postgres/0002_setup.sql")),
    (3, "policies", include_str!("../../migrations/postgres/0003_policies.sql")),
    (4, "bound_confirmations", include_str!("../../migrations/postgres/0004_bound_confirmations.sql")),
    (5, "resolution_webhooks", include_str!("../../migrations/postgres/0005_resolution_webhooks.sql")),
    (6, "agent_identity", include_str!("../../migrations/postgres/0006_agent_identity.sql")),
    (7, "audit_action", include_str!("../../migrations/postgres/0007_audit_action.sql")),
    (8, "escalation_approvers", include_str!("../../migrations/postgres/0008_escalation_approvers.sql")),
];

/// How a SQLite decision transaction opens: the write lock up front, so its counter reads stay valid until it commits.
/// [`Store::begin`] and the group commit (`lane`) both open with it.
const SQLITE_BEGIN: &str = "BEGIN IMMEDIATE";

/// PostgreSQL connections per server process; decisions hold one only for their transaction.
const PG_POOL_SIZE: u32 = 16;

/// When a SQLite commit returns (`PRAGMA synchronous`). PostgreSQL ignores it (its own `synchronous_commit` rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is fsynced before it returns: an answered check survives power loss. The default.
    #[default]
    Full,
    /// Commits return once in the OS page cache; the WAL is fsynced at checkpoints. An answered check survives the
    /// server process crashing but not the machine losing power or the kernel crashing. Only by explicit choice
    /// (`allowly serve --sqlite-synchronous normal`).
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "PRAGMA synchronous = FULL",
            Synchronous::Normal => "PRAGMA synchronous = NORMAL",
        }
    }
}

/// The backend behind a store or connection, for the few SQL fragments that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The backend of a URL: `sqlite:` / `sqlite://`, `postgres://` / `postgresql://`.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The backend of an open connection (a transaction derefs to one).
    pub fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name() == "PostgreSQL" { Dialect::Postgres } else { Dialect::Sqlite }
    }

    /// Appended to the `SELECT` that opens a decision. SQLite's `BEGIN IMMEDIATE` already holds the whole database,
    /// and SQLite has no row locks; PostgreSQL needs the row lock to serialize decisions on that row.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    write: AnyPool,
    read: AnyPool,
    dialect: Dialect,
    /// SQLite: the group commit of decisions ([`Store::write`]).
    lane: Option<lane::Lane>,
    /// Live API keys by hash (`key_cache`), shared by every clone of the store.
    keys: Arc<key_cache::KeyCache>,
    /// SQLite: the authorization rows and signing keys checks read, kept exact by the one writer (`decision_cache`).
    decisions: Option<Arc<decision_cache::Scope>>,
    /// SQLite: dropping the last clone of the store stops the checkpoint task ([`spawn_checkpointer`]).
    _checkpointer: Option<Arc<oneshot::Sender<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        write!(f, "Store({:?})", self.dialect)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL: use sqlite:PATH, sqlite://PATH, postgres://… or postgresql://…")]
    UnsupportedUrl,
    #[error("in-memory SQLite is not supported (it would not survive a restart): use a file path")]
    InMemory,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Other(String),
}

impl Store {
    /// Opens the database at `url` and migrates it: `sqlite:PATH` / `sqlite://PATH` (created if missing) or
    /// `postgres://…` / `postgresql://…` (the database must exist).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, Synchronous::default()).await
    }

    /// [`Store::open`] with a chosen SQLite commit durability.
    pub async fn open_with(url: &str, synchronous: Synchronous) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        match Dialect::of_url(url)? {
            Dialect::Sqlite => Self::open_sqlite(url, synchronous).await,
            Dialect::Postgres => Self::open_postgres(url).await,
        }
    }

    async fn open_sqlite(url: &str, synchronous: Synchronous) -> Result<Self, StoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::InMemory);
        }
        // Parsed natively first so the file is created if missing (`mode=rwc`); `Any` then connects by URL, and the
        // settings a URL cannot carry are applied per connection in `after_connect`.
        let native = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        let opts = AnyConnectOptions::from_url(&native.to_url_lossy())?;
        let pool = |max: u32| {
            // No ping before each acquire: the connection is a worker thread over a local file, not a socket that
            // can go stale, and the ping was one more thread round trip on every request's path (a failing
            // connection still fails its next statement, which returns the error to that request).
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .test_before_acquire(false)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        // synchronous = FULL by default: every commit fsyncs the WAL before it returns, so an
                        // answered check survives power loss, not only a crash of this process. The cost, one flush
                        // per commit, is shared by every decision of a group commit (`lane`). See [`Synchronous`].
                        for pragma in [
                            "PRAGMA busy_timeout = 15000",
                            "PRAGMA journal_mode = WAL",
                            synchronous.pragma(),
                            "PRAGMA foreign_keys = ON",
                            WAL_AUTOCHECKPOINT,
                        ] {
                            conn.execute(pragma).await?;
                        }
                        Ok(())
                    })
                })
        };
        let write = pool(1).connect_with(opts.clone()).await?;
        migrator(Dialect::Sqlite).run(&write).await?;
        let read = pool(8).connect_with(opts).await?;
        let checkpointer = Some(Arc::new(spawn_checkpointer(read.clone())));
        let decisions = decision_cache::Scope::register();
        let lane = Some(lane::Lane::spawn(write.clone(), decisions.clone()));
        Ok(Self {
            write,
            read,
            dialect: Dialect::Sqlite,
            lane,
            keys: Arc::default(),
            decisions: Some(decisions),
            _checkpointer: checkpointer,
        })
    }

    async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        let opts = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(PG_POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await?;
        // The migrator takes an advisory lock, so processes starting together on one database migrate once.
        migrator(Dialect::Postgres).run(&pool).await?;
        Ok(Self {
            write: pool.clone(),
            read: pool,
            dialect: Dialect::Postgres,
            lane: None,
            keys: Arc::default(),
            decisions: None,
            _checkpointer: None,
        })
    }

    /// `sqlite:` URL for a file path.
    pub fn sqlite_url(path: &Path) -> String {
        format!("sqlite://{}", path.display())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Starts a decision transaction: on SQLite it holds the database write lock; on PostgreSQL the decision takes
    /// its row locks as it goes (see the module documentation).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.write.begin_with(SQLITE_BEGIN).await,
            Dialect::Postgres => self.write.begin().await,
        }
    }

    /// Runs `f` in a decision transaction and returns its result once that transaction committed; an `Err` from `f`
    /// rolls back what `f` wrote. On SQLite `f` joins the next group commit (`lane`), so concurrent decisions share
    /// one commit and its fsync; on PostgreSQL, where transactions run side by side, it gets a transaction of its own.
    /// `f` reaches the transaction through [`Writer::tx`] and defers rows nothing reads back with [`Writer::defer`];
    /// it must not wait on anything but the database: the batch waits for it.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut Writer) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        if let Some(lane) = &self.lane {
            return lane.write(f).await;
        }
        let mut w = Writer::new(self.begin().await?);
        match f(&mut w).await {
            Ok(v) => {
                w.finish().await?.commit().await?;
                Ok(v)
            }
            Err(e) => {
                w.rollback().await;
                Err(e)
            }
        }
    }

    /// Batches and decisions the group commit has committed (SQLite; `None` on PostgreSQL).
    pub fn lane_stats(&self) -> Option<&LaneStats> {
        self.lane.as_ref().map(|l| l.stats())
    }

    /// The live-key cache: [`api_keys::authenticate`] reads through it; revokes invalidate it.
    pub fn keys(&self) -> &key_cache::KeyCache {
        &self.keys
    }

    /// SQLite: the cached inputs of decisions run through [`Store::write`] (`None` on PostgreSQL, and nowhere else to
    /// be read from: entries are only exact inside the group commit's transaction).
    pub fn decision_cache(&self) -> Option<Arc<decision_cache::Scope>> {
        self.decisions.clone()
    }

    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// `/readyz`: the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// How often the background task checkpoints the SQLite WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The write connection checkpoints by itself only past this many WAL pages (32 MiB of 4 KiB pages; SQLite's default
/// is 1,000). A checkpoint fsyncs the WAL and the database file, and run by the committing connection it made every
/// decision queued behind the one write connection wait for those fsyncs (about three per hundred checks under load,
/// the server's p99). [`spawn_checkpointer`] does that work on a read connection instead, where a PASSIVE checkpoint
/// runs alongside the writer; this limit only bounds the WAL if that task ever falls behind.
const WAL_AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 8000";

/// Checkpoints the WAL every [`CHECKPOINT_EVERY`] on a read connection (PASSIVE: never waits for readers or the
/// writer, copies what it can). Durability does not depend on it: a committed transaction is in the WAL either way.
/// Stops when the returned sender is dropped (the last `Store` clone) or the pool is closed.
fn spawn_checkpointer(read: AnyPool) -> oneshot::Sender<()> {
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tokio::time::sleep(CHECKPOINT_EVERY) => {}
            }
            if read.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&read).await {
                if read.is_closed() {
                    break;
                }
                tracing::warn!(error = %e, "WAL checkpoint failed; the write connection's own limit still applies");
            }
        }
    });
    stop
}

fn migrator(dialect: Dialect) -> Migrator {
    let set = match dialect {
        Dialect::Sqlite => SQLITE_MIGRATIONS,
        Dialect::Postgres => POSTGRES_MIGRATIONS,
    };
    let migrations: Vec<Migration> = set
        .iter()
        .map(|(v, d, sql)| Migration::new(*v, Cow::Borrowed(*d), MigrationType::Simple, Cow::Borrowed(*sql), false))
        .collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_and_unknown_schemes_are_refused() {
        assert_eq!(Dialect::of_url("sqlite:a.db").ok(), Some(Dialect::Sqlite));
        assert_eq!(Dialect::of_url("sqlite:///tmp/a.db").ok(), Some(Dialect::Sqlite));
        assert_eq!(Dialect::of_url("postgres://u@h/db").ok(), Some(Dialect::Postgres));
        assert_eq!(Dialect::of_url("postgresql://u@h/db").ok(), Some(Dialect::Postgres));
        let err = Dialect::of_url("mysql://user:hunter2@h/db").expect_err("mysql is refused");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn in_memory_sqlite_is_refused() {
        assert!(matches!(Store::open("sqlite::memory:").await, Err(StoreError::InMemory)));
    }

    /// The settings `Any` cannot take from a URL reach every connection, and odd paths survive the URL round trip.
    #[tokio::test]
    async fn sqlite_connections_get_wal_and_their_pragmas() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a dir").join("x#y.db");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let store = Store::open(&format!("sqlite:{}", path.display())).await.expect("open");
        assert!(path.exists());
        for pool in [&store.read, &store.write] {
            let mut conn = pool.acquire().await.expect("conn");
            let get = |p: &'static str| sqlx::query_scalar::<_, String>(p);
            assert_eq!(get("PRAGMA journal_mode").fetch_one(&mut *conn).await.expect("journal"), "wal");
            let int = |p: &'static str| sqlx::query_scalar::<_, i64>(p);
            assert_eq!(int("PRAGMA synchronous").fetch_one(&mut *conn).await.expect("sync"), 2);
            assert_eq!(int("PRAGMA foreign_keys").fetch_one(&mut *conn).await.expect("fk"), 1);
            assert_eq!(int("PRAGMA busy_timeout").fetch_one(&mut *conn).await.expect("busy"), 15_000);
            assert_eq!(int("PRAGMA wal_autocheckpoint").fetch_one(&mut *conn).await.expect("ckpt"), 8_000);
        }
        store.close().await;
    }

    /// The faster durability is an explicit choice that reaches every connection; the default stays FULL.
    #[tokio::test]
    async fn normal_synchronous_is_only_used_when_asked_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = Store::sqlite_url(&dir.path().join("n.db"));
        let store = Store::open_with(&url, Synchronous::Normal).await.expect("open");
        for pool in [&store.read, &store.write] {
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.expect("pragma");
            assert_eq!(level, 1);
        }
        store.close().await;
        assert_eq!(Synchronous::default(), Synchronous::Full);
    }

    /// Commits reach the main database file without the write connection checkpointing (far below its 8,000-page
    /// limit): the background task copied them. The main file grows only when a checkpoint writes to it.
    #[tokio::test]
    async fn the_background_task_checkpoints_the_wal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.db");
        let store = Store::open(&format!("sqlite:{}", path.display())).await.expect("open");
        let before = std::fs::metadata(&path).expect("db").len();
        let mut tx = store.begin().await.expect("begin");
        sqlx::query("CREATE TABLE filler (b TEXT)").execute(&mut *tx).await.expect("create");
        sqlx::query("INSERT INTO filler (b) VALUES ($1)")
            .bind("x".repeat(1 << 20))
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::fs::metadata(&path).expect("db").len() < before + (1 << 20) {
            assert!(std::time::Instant::now() < deadline, "the WAL was never checkpointed into the database file");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        store.close().await;
    }
}
