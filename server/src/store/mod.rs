//! The database layer. Routes call the functions of these modules with domain values and never write SQL.
//!
//! SQLite (WAL) is the embedded default. Every decision runs in one write transaction opened with
//! `BEGIN IMMEDIATE`, which takes SQLite's write lock up front: reads of counters (budget, `max_per_day`,
//! pending confirmations) and the writes that depend on them can then never interleave with another writer, even
//! across processes. Writes also go through a one-connection pool so in-process writers queue in Rust rather than
//! spinning on `SQLITE_BUSY`; reads (auth lookups, receipt polling) use a separate pool.
//!
//! The SQL sticks to what SQLite and PostgreSQL share; a PostgreSQL store plugs in here (migrations already under
//! `migrations/postgres/`), not in the routes.

pub mod api_keys;
pub mod audit;
pub mod authorizations;
pub mod confirmations;
pub mod idempotency;
pub mod receipts;
pub mod signing_keys;
pub mod webhooks;

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// A write transaction (`BEGIN IMMEDIATE`).
pub type Tx = Transaction<'static, Sqlite>;

/// The read pool type.
pub type Pool = SqlitePool;

/// Migrations are embedded so an installed binary needs no files next to it.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "setup", include_str!("../../migrations/sqlite/0002_setup.sql")),
];

#[derive(Clone)]
pub struct Store {
    write: SqlitePool,
    read: SqlitePool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store(sqlite)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (only sqlite: is supported by this build so far)")]
    UnsupportedUrl,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Other(String),
}

impl Store {
    /// Opens (creating if needed) the database at `url` (`sqlite:PATH` or `sqlite://PATH`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl);
        }
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(15));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.clone())
            .await?;
        migrator().run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await?;
        Ok(Self { write, read })
    }

    /// `sqlite:` URL for a file path.
    pub fn sqlite_url(path: &Path) -> String {
        format!("sqlite://{}", path.display())
    }

    /// Starts a decision transaction holding the database write lock.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }

    pub fn reader(&self) -> &SqlitePool {
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

fn migrator() -> Migrator {
    let migrations: Vec<Migration> = SQLITE_MIGRATIONS
        .iter()
        .map(|(v, d, sql)| Migration::new(*v, Cow::Borrowed(*d), MigrationType::Simple, Cow::Borrowed(*sql), false))
        .collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}
