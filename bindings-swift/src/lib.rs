//! allowly-swift: the UniFFI binding of allowly-core for Swift and Kotlin/JVM (library `allowly_ffi`).
//!
//! This crate only maps core to UniFFI: models become records and enums, the client becomes the `NativeClient` object
//! whose async methods run on tokio, and every core error becomes one variant of [`error::AllowlyError`]. No decision,
//! HTTP, JSON-canonicalization or crypto logic lives here; a rule that is needed goes into core.
//!
//! The Swift and Kotlin sources generated from this crate by the in-workspace `uniffi-bindgen` are committed
//! (`Sources/AllowlyFFI*`, `kotlin/src/main/kotlin/ai/allowly/allowly.kt`); `tests/generated_drift.rs` fails when they
//! differ from what the generator produces now. Each language adds a thin idiomatic layer on top (`Allowly`).

uniffi::setup_scaffolding!("allowly");

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
