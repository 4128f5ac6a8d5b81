//! allowly-node: the native half of the `openallowly` npm package.
//!
//! This crate only maps allowly-core (and the allowly-mcp gate) to JavaScript: names become camelCase, models become
//! plain objects, async methods become Promises driven by napi's tokio runtime, and every core error becomes a payload
//! the JS layer turns into its `Error` subclass (`lib/errors.cjs`). No decision, HTTP, JSON or crypto logic lives here;
//! if a rule is needed, it goes into core so every language gets it.
//!
//! The JS layer in `lib/` is the public API; the generated `native/index.d.ts` describes this crate's surface and is
//! committed so a drift test can compare it with what the build generates.

// Public so the exported functions are reachable from the crate root in every build (`cargo test` compiles the
// crate without napi's registration, which would otherwise leave them unused).
pub mod admin;
pub mod agents;
pub mod client;
pub mod error;
pub mod escalations;
pub mod gate;
pub mod model;
pub mod policies;
pub mod receipt;
pub mod webhook;
