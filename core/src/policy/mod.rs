//! Policy editions: the official `allowly.policy.v1` definition profile with `allowly.basic.v1` actions.
//!
//! Pure functions only (no I/O): the server validates and evaluates with them, and every SDK exposes them for
//! local validation and digests, so a definition is judged by the same code wherever it is checked.
//! The semantics are written down in docs/policy-semantics.md.

mod arguments;
mod definition;
mod digest;
pub mod engine;
mod error;
mod evaluate;
mod validate;

pub use arguments::arguments_sha256;
pub use definition::{Definition, Guards};
pub use digest::{MAX_CONTEXT_BYTES, MAX_DEFINITION_BYTES, definition_sha256, input_sha256};
pub use engine::engine_version;
pub use error::PolicyError;
pub use evaluate::evaluate;
pub use validate::{ACTION_PROFILE, DEFINITION_PROFILE, validate_definition};
