//! What a decision run by [`super::Store::write`] writes through: its transaction, opened lazily, and rows it defers.
//!
//! On SQLite many decisions share one transaction (`lane`), and every statement is a round trip to the connection's
//! worker thread while the others wait. So a decision pays only for the statements it needs: it asks for the
//! transaction ([`Writer::tx`]) when it must read or write, and only then does a savepoint open (if earlier decisions
//! of the batch were kept); rows nothing in the batch reads back — a check's receipts — are deferred
//! ([`Writer::defer`]) and inserted for the whole batch in a few multi-row statements just before the commit. A
//! decision served from the decision cache with only deferred rows costs no statement at all.

use std::fmt::Write as _;

use sqlx::Arguments as _;
use sqlx::any::AnyArguments;

use super::{Dialect, Tx};

/// A table and columns rows are deferred into. Compared by address: declare each once, as a `static`.
#[derive(Debug)]
pub struct Insert {
    pub table: &'static str,
    pub columns: &'static [&'static str],
}

/// A deferred row's value, as the `Any` driver binds it.
#[derive(Debug)]
pub enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

/// What a detached writer answers when a decision asks for the transaction.
pub const NO_TRANSACTION: &str = "this decision needs the database (run ahead of the group commit)";

/// Rows of one statement: multi-row inserts are issued in chunks of a power of two up to this, so the connection's
/// statement cache holds at most a handful of shapes, and no statement nears a backend's bound-parameter limit.
const MAX_ROWS_PER_STATEMENT: usize = 256;

/// A deferred row: its table and values.
pub type Deferred = (&'static Insert, Vec<Val>);

pub struct Writer {
    /// `None` for a [`Writer::detached`] one.
    tx: Option<Tx>,
    /// Decisions before this one in the transaction were kept: its first statement opens a savepoint.
    shared: bool,
    /// This decision asked for the transaction (so it may have written through it).
    touched: bool,
    savepoint: bool,
    deferred: Vec<Deferred>,
    /// Where this decision's deferred rows start.
    first_row: usize,
}

impl Writer {
    pub(super) fn new(tx: Tx) -> Self {
        Self { tx: Some(tx), shared: false, touched: false, savepoint: false, deferred: Vec::new(), first_row: 0 }
    }

    /// A writer without a transaction, to run a decision ahead of the group commit from cached inputs: the first
    /// statement it asks for fails with `NO_TRANSACTION`, and its deferred rows are taken with
    /// [`Writer::take_deferred`].
    pub fn detached() -> Self {
        Self { tx: None, shared: false, touched: false, savepoint: false, deferred: Vec::new(), first_row: 0 }
    }

    /// The transaction, for a statement of this decision.
    pub async fn tx(&mut self) -> Result<&mut Tx, sqlx::Error> {
        let Some(tx) = self.tx.as_mut() else { return Err(sqlx::Error::Protocol(NO_TRANSACTION.into())) };
        if self.shared && !self.savepoint {
            sqlx::query("SAVEPOINT decision").execute(&mut **tx).await?;
            self.savepoint = true;
        }
        self.touched = true;
        Ok(tx)
    }

    /// Inserts `values` (one per column of `into`) just before the transaction commits. Nothing in the transaction
    /// can read the row before then, so defer only rows no decision reads back; and since a row that fails to insert
    /// there refuses every decision of the batch, only rows whose insert cannot fail on their values (generated ids,
    /// validated fields).
    pub fn defer(&mut self, into: &'static Insert, values: Vec<Val>) {
        debug_assert_eq!(into.columns.len(), values.len(), "{}", into.table);
        self.deferred.push((into, values));
    }

    /// The rows deferred so far (a detached writer's whole output).
    pub fn take_deferred(&mut self) -> Vec<Deferred> {
        self.first_row = 0;
        std::mem::take(&mut self.deferred)
    }

    /// Defers rows taken from a detached writer.
    pub fn defer_all(&mut self, rows: Vec<Deferred>) {
        self.deferred.extend(rows);
    }

    /// Starts the next decision of the transaction.
    pub(super) fn begin_decision(&mut self, shared: bool) {
        self.shared = shared;
        self.touched = false;
        self.savepoint = false;
        self.first_row = self.deferred.len();
    }

    /// Whether the decision now ending took a savepoint, and whether it used the transaction at all.
    pub(super) fn decision_state(&self) -> (bool, bool) {
        (self.savepoint, self.touched)
    }

    /// Drops the deferred rows of the decision now ending (it failed).
    pub(super) fn drop_decision_rows(&mut self) {
        self.deferred.truncate(self.first_row);
    }

    /// The transaction for the lane's own statements (no savepoint, not counted as the decision's); a detached
    /// writer, which the lane never holds, has none.
    pub(super) fn raw(&mut self) -> Result<&mut Tx, sqlx::Error> {
        self.tx.as_mut().ok_or_else(|| sqlx::Error::Protocol(NO_TRANSACTION.into()))
    }

    /// Rolls the transaction back (if there is one) and drops the deferred rows.
    pub(super) async fn rollback(self) {
        if let Some(tx) = self.tx {
            let _ = tx.rollback().await;
        }
    }

    /// Inserts every deferred row, then returns the transaction to commit.
    pub(super) async fn finish(mut self) -> Result<Tx, sqlx::Error> {
        let Some(mut tx) = self.tx.take() else { return Err(sqlx::Error::Protocol(NO_TRANSACTION.into())) };
        let mut rows = std::mem::take(&mut self.deferred);
        // One table after another, in the order each first appeared (stable: rows keep their relative order).
        let mut order: Vec<&'static Insert> = Vec::new();
        for (into, _) in &rows {
            if !order.iter().any(|i| std::ptr::eq(*i, *into)) {
                order.push(into);
            }
        }
        for into in order {
            let mut mine: Vec<Vec<Val>> = Vec::new();
            rows.retain_mut(|(i, v)| {
                if std::ptr::eq(*i, into) {
                    mine.push(std::mem::take(v));
                    false
                } else {
                    true
                }
            });
            let mut left = mine.len();
            let mut mine = mine.into_iter();
            while left > 0 {
                let n = chunk(left);
                insert_rows(&mut tx, into, mine.by_ref().take(n)).await?;
                left -= n;
            }
        }
        Ok(tx)
    }
}

/// The largest power of two ≤ `left`, at most [`MAX_ROWS_PER_STATEMENT`].
fn chunk(left: usize) -> usize {
    let p = 1usize << (usize::BITS - 1 - left.leading_zeros());
    p.min(MAX_ROWS_PER_STATEMENT)
}

/// One `INSERT … VALUES (…), (…)` of `rows` into `into` (also the one-row insert of rows that are not deferred).
pub(super) async fn insert_rows(
    tx: &mut Tx,
    into: &Insert,
    rows: impl Iterator<Item = Vec<Val>>,
) -> Result<(), sqlx::Error> {
    let width = into.columns.len();
    // SQLite gets anonymous `?` parameters: sqlx binds each parameter after asking SQLite its name, and SQLite finds
    // a named one (`$7`) by a linear scan of the statement's names, so a 256-row insert's 3,584 `$N` cost millions
    // of steps per batch (4 % of a saturated server's CPU in bench/server/profile.sh); `?`s have no name to find.
    let sqlite = Dialect::of(tx) == Dialect::Sqlite;
    let mut sql = format!("INSERT INTO {} ({}) VALUES ", into.table, into.columns.join(", "));
    let mut args = AnyArguments::default();
    for (r, row) in rows.enumerate() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (c, v) in row.into_iter().enumerate() {
            if c > 0 {
                sql.push_str(", ");
            }
            if sqlite {
                sql.push('?');
            } else {
                write!(sql, "${}", r * width + c + 1).expect("writing to a String");
            }
            match v {
                Val::Text(s) => args.add(s),
                Val::OptText(s) => args.add(s),
                Val::Int(n) => args.add(n),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        sql.push(')');
    }
    sqlx::query_with(&sql, args).execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::chunk;

    #[test]
    fn chunks_are_powers_of_two_up_to_the_cap() {
        assert_eq!(chunk(1), 1);
        assert_eq!(chunk(37), 32);
        assert_eq!(chunk(5), 4);
        assert_eq!(chunk(256), 256);
        assert_eq!(chunk(10_000), 256);
        // Every count splits into chunks that add up to it.
        for n in 1..600 {
            let (mut left, mut total) = (n, 0);
            while left > 0 {
                let c = chunk(left);
                assert!(c.is_power_of_two() && c <= left);
                total += c;
                left -= c;
            }
            assert_eq!(total, n);
        }
    }
}
