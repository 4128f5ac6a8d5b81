//! Group commit for SQLite: one task runs the decisions waiting to be written, each inside a savepoint of one
//! `BEGIN IMMEDIATE` transaction, and commits them with one `COMMIT` — one fsync for the batch.
//!
//! SQLite has one writer, and with `synchronous = FULL` (an answered check survives power loss) each commit waits
//! for the disk to flush. One transaction per check made the disk's flush rate the server's check rate, and every
//! check queued behind the previous one's flush. Here, while one batch commits, the checks that arrive meanwhile
//! queue in the channel and the next batch takes them all: under load the flush is shared by the batch; idle, a
//! lone check commits at once (the lane never waits for company).
//!
//! Each decision still reads what every decision before it wrote (one connection, one transaction), so the
//! serialization the decision rules rely on (see [`super`]) is unchanged. A decision that fails rolls back to its
//! savepoint and only it is refused; a failed `COMMIT` refuses the whole batch. A caller hears back only after the
//! transaction holding its writes committed, so no answer is sent for a row that is not durable.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::decision_cache::Scope;
use super::writer::Writer;

/// A batch stops taking decisions after running this long, so the first decision of a batch waits at most this
/// (plus the commit) for the ones after it.
const BATCH_WINDOW: Duration = Duration::from_millis(1);
/// And after this many decisions.
const BATCH_MAX: usize = 256;
/// Decisions queued for the lane; a sender waits when it is full.
const QUEUE: usize = 4096;

/// Hands a decision's outcome to its caller once the batch's commit is known.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What a job's run left: whether its writes are kept, and how to answer its caller.
struct Ran {
    kept: bool,
    finish: Finish,
}

type Job = Box<dyn for<'t> FnOnce(&'t mut Writer) -> BoxFuture<'t, Ran> + Send>;

/// The sending side, held by every clone of the store; the task ends when the last one is dropped.
#[derive(Debug, Clone)]
pub(super) struct Lane {
    jobs: mpsc::Sender<Job>,
    stats: Arc<LaneStats>,
}

/// Counters for `/metrics` and the benchmarks: how much each commit carried.
#[derive(Debug, Default)]
pub struct LaneStats {
    pub batches: AtomicU64,
    pub decisions: AtomicU64,
}

impl Lane {
    pub(super) fn spawn(pool: AnyPool, cache: Arc<Scope>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let stats = Arc::new(LaneStats::default());
        tokio::spawn(run(pool, queue, stats.clone(), cache));
        Self { jobs, stats }
    }

    pub(super) fn stats(&self) -> &LaneStats {
        &self.stats
    }

    /// Runs `f` in the next batch and returns its result once that batch committed.
    pub(super) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut Writer) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |w: &mut Writer| {
            Box::pin(async move {
                let out = f(w).await;
                let kept = out.is_ok();
                let finish: Finish = Box::new(move |committed: Result<(), String>| {
                    let _ = answer.send(match committed {
                        Ok(()) => out,
                        Err(e) => Err(E::from(sqlx::Error::Protocol(e))),
                    });
                });
                Ran { kept, finish }
            }) as BoxFuture<'_, Ran>
        });
        let closed = || E::from(sqlx::Error::PoolClosed);
        self.jobs.send(job).await.map_err(|_| closed())?;
        // Dropped unanswered only if the job panicked (its writes were rolled back) or the lane stopped.
        answered.await.map_err(|_| E::from(sqlx::Error::Protocol("the decision was not written".into())))?
    }
}

async fn run(pool: AnyPool, mut queue: mpsc::Receiver<Job>, stats: Arc<LaneStats>, cache: Arc<Scope>) {
    let mut data_version: Option<i64> = None;
    while let Some(first) = queue.recv().await {
        let mut tx = match pool.begin_with(super::SQLITE_BEGIN).await {
            Ok(tx) => tx,
            Err(e) => {
                // Dropping the job unrun answers its caller "not written"; the next one tries a fresh transaction.
                tracing::error!(error = %e, "cannot open the write transaction");
                drop(first);
                continue;
            }
        };
        // Another process that committed to this file since the last batch may have changed what the decision cache
        // holds (writes in this process go through this connection and forget their rows themselves).
        match sqlx::query_scalar::<_, i64>("PRAGMA data_version").fetch_one(&mut *tx).await {
            Ok(v) if data_version == Some(v) => {}
            Ok(v) => {
                cache.advance();
                data_version = Some(v);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the database's data version");
                cache.advance();
                data_version = None;
            }
        }
        let started = Instant::now();
        let mut w = Writer::new(tx);
        let mut kept: Vec<Finish> = Vec::new();
        let mut job = Some(first);
        let mut count = 0usize;
        let mut end = End::Commit;
        while let Some(next) = job.take() {
            count += 1;
            // A decision opens a savepoint at its first statement only when decisions before it were kept: if the
            // batch's first fails, the transaction holds nothing else and is rolled back whole; a decision that
            // never asks for the transaction (cached inputs, deferred rows) needs none.
            w.begin_decision(!kept.is_empty());
            let ran = AssertUnwindSafe(next(&mut w)).catch_unwind().await;
            let (savepoint, touched) = w.decision_state();
            match ran {
                Ok(Ran { kept: true, finish }) => kept.push(finish),
                failed => {
                    // A failed decision answers its caller now (nothing of it is kept); a panicking one answers
                    // nothing, and its caller sees "not written".
                    if let Ok(Ran { finish, .. }) = failed {
                        finish(Ok(()));
                    }
                    w.drop_decision_rows();
                    if savepoint {
                        // The newest savepoint of that name is this decision's: kept ones are never released
                        // (`COMMIT` commits through open savepoints), so a decision costs one statement more, not two.
                        let rolled: Result<_, sqlx::Error> =
                            async { sqlx::query("ROLLBACK TO decision").execute(&mut **w.raw()?).await }.await;
                        if let Err(e) = rolled {
                            end = End::Broken(format!("rollback to: {e}"));
                            break;
                        }
                    } else if touched {
                        end = End::Discard;
                        break;
                    }
                }
            }
            if started.elapsed() < BATCH_WINDOW && count < BATCH_MAX {
                job = queue.try_recv().ok();
            }
        }
        let committed = match end {
            End::Commit => match w.finish().await {
                Ok(tx) => tx.commit().await.map_err(|e| format!("commit: {e}")),
                Err(e) => Err(format!("deferred rows: {e}")),
            },
            End::Discard => {
                w.rollback().await;
                Ok(())
            }
            End::Broken(e) => {
                w.rollback().await;
                Err(e)
            }
        };
        if let Err(e) = &committed {
            // Decisions of this batch may have cached rows they read after earlier ones wrote them.
            cache.advance();
            tracing::error!(error = %e, decisions = kept.len(), "a batch of decisions was not committed");
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.decisions.fetch_add(count as u64, Ordering::Relaxed);
        for finish in kept {
            finish(committed.clone());
        }
    }
}

/// How a batch's transaction ends.
enum End {
    Commit,
    /// A decision that wrote without a savepoint (so no decision before it was kept) failed and has answered.
    Discard,
    /// A statement of the lane's own failed: every decision in it is refused.
    Broken(String),
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use std::sync::Arc;

    async fn store() -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&Store::sqlite_url(&dir.path().join("lane.db"))).await.expect("open");
        sqlx::query("CREATE TABLE t (n BIGINT PRIMARY KEY)").execute(store.reader()).await.expect("create");
        (dir, Arc::new(store))
    }

    async fn rows(store: &Store) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n").fetch_all(store.reader()).await.expect("select")
    }

    /// Concurrent writers each read what the ones before them wrote (one transaction at a time), and every answered
    /// write is visible to a separate connection once its `write` returned.
    #[tokio::test]
    async fn concurrent_decisions_serialize_and_are_committed_when_answered() {
        let (_dir, store) = store().await;
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let n = store
                        .write(|w| {
                            Box::pin(async move {
                                let tx = w.tx().await?;
                                let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(n), 0) + 1 FROM t")
                                    .fetch_one(&mut **tx)
                                    .await?;
                                sqlx::query("INSERT INTO t (n) VALUES ($1)").bind(next).execute(&mut **tx).await?;
                                Ok::<_, sqlx::Error>(next)
                            })
                        })
                        .await
                        .expect("write");
                    let seen: Option<i64> = sqlx::query_scalar("SELECT n FROM t WHERE n = $1")
                        .bind(n)
                        .fetch_optional(store.reader())
                        .await
                        .expect("read");
                    assert_eq!(seen, Some(n), "answered before its row was committed");
                    n
                })
            })
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.expect("task"));
        }
        got.sort_unstable();
        assert_eq!(got, (1..=64).collect::<Vec<_>>());
        assert_eq!(rows(&store).await, (1..=64).collect::<Vec<_>>());
        let stats = store.lane_stats().expect("sqlite has a lane");
        let (batches, decisions) = (
            stats.batches.load(std::sync::atomic::Ordering::Relaxed),
            stats.decisions.load(std::sync::atomic::Ordering::Relaxed),
        );
        assert_eq!(decisions, 64);
        assert!((1..=64).contains(&batches), "{batches} batches");
    }

    /// A decision that fails, or panics, keeps none of its writes and is refused alone; the decisions around it in
    /// the same batch commit.
    #[tokio::test]
    async fn a_failing_or_panicking_decision_rolls_back_alone() {
        let (_dir, store) = store().await;
        let insert = |n: i64, fail: u8| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |w| {
                        Box::pin(async move {
                            sqlx::query("INSERT INTO t (n) VALUES ($1)").bind(n).execute(&mut **w.tx().await?).await?;
                            match fail {
                                1 => Err(sqlx::Error::Protocol(format!("decision {n} refused"))),
                                2 => panic!("decision {n} panicked"),
                                _ => Ok(n),
                            }
                        })
                    })
                    .await
            })
        };
        let tasks: Vec<_> = (1..=30).map(|n| insert(n, (n % 3) as u8)).collect();
        for (n, t) in (1..=30).zip(tasks) {
            let out = t.await.expect("the caller's task does not panic");
            match n % 3 {
                0 => assert_eq!(out.expect("kept"), n),
                1 => assert!(out.expect_err("refused").to_string().contains(&format!("decision {n} refused"))),
                _ => assert!(out.expect_err("panicked").to_string().contains("not written")),
            }
        }
        assert_eq!(rows(&store).await, (1..=10).map(|k| 3 * k).collect::<Vec<_>>());
    }

    static T_ROW: crate::store::Insert = crate::store::Insert { table: "t", columns: &["n"] };

    /// Deferred rows reach the table with their batch's commit, in multi-row statements; a decision that fails drops
    /// its own deferred rows and statements (savepoint or not) and nothing of the others'.
    #[tokio::test]
    async fn deferred_rows_commit_with_the_batch_and_leave_with_a_failed_decision() {
        let (_dir, store) = store().await;
        let tasks: Vec<_> = (1..=120i64)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .write(move |w| {
                            Box::pin(async move {
                                // Some write through the transaction as well, at once.
                                if n % 3 == 0 {
                                    let tx = w.tx().await?;
                                    sqlx::query("INSERT INTO t (n) VALUES ($1)")
                                        .bind(n + 1000)
                                        .execute(&mut **tx)
                                        .await?;
                                }
                                w.defer(&T_ROW, vec![crate::store::Val::Int(n)]);
                                if n % 4 == 0 {
                                    return Err(sqlx::Error::Protocol(format!("decision {n} refused")));
                                }
                                Ok(n)
                            })
                        })
                        .await
                })
            })
            .collect();
        for (n, t) in (1..=120i64).zip(tasks) {
            let out = t.await.expect("task");
            assert_eq!(out.is_ok(), n % 4 != 0, "decision {n}: {out:?}");
        }
        let mut expected: Vec<i64> = (1..=120).filter(|n| n % 4 != 0).collect();
        expected.extend((1..=120).filter(|n| n % 4 != 0 && n % 3 == 0).map(|n| n + 1000));
        expected.sort_unstable();
        assert_eq!(rows(&store).await, expected);
    }

    /// A failed batch-wide insert of deferred rows refuses every decision of the batch and keeps nothing.
    #[tokio::test]
    async fn a_deferred_row_that_cannot_be_inserted_refuses_its_batch() {
        let (_dir, store) = store().await;
        sqlx::query("INSERT INTO t (n) VALUES (7)").execute(store.reader()).await.expect("seed");
        let out = store
            .write(|w| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO t (n) VALUES (8)").execute(&mut **w.tx().await?).await?;
                    w.defer(&T_ROW, vec![crate::store::Val::Int(7)]);
                    Ok::<_, sqlx::Error>(())
                })
            })
            .await;
        assert!(out.is_err(), "the duplicate key is refused at the batch's end");
        assert_eq!(rows(&store).await, vec![7], "nothing of the refused decision was kept");
    }
}
