//! Policy editions: the official `allowly.policy.v1` definition profile with `allowly.basic.v1` actions.
//!
//! Pure functions only (no I/O): the server validates and evaluates with them, and every SDK exposes them for
//! local validation and digests, so a definition is judged by the same code wherever it is checked.

pub mod engine;

pub use engine::engine_version;
