//! allowly-core: the one place where Allowly SDK behaviour lives.
//!
//! Every language binding (Python, Node, Swift/Kotlin) and the `allowly` CLI are thin fronts over this crate:
//!
//! - [`model`]: serde types for every request and response of the wire contract (wire-v1);
//! - [`client`]: the async HTTP client (retries, idempotency keys, fail-closed `check`, confirmation flow, receipt polling);
//! - [`receipt`]: strict JSON, canonical bytes, key documents and the Allowly Receipt Format wire 4 verifier;
//! - [`identifiers`]: `from_email` pseudonymous user ids;
//! - [`agent_identity`]: enrolled agents' credential files and the EdDSA agent tokens they sign;
//! - [`caller_identity`]: whose authorization an MCP tool call runs under, from trusted sources only;
//! - [`webhook`]: verifying a webhook delivery (signature, tolerance, workspace, replays) on the receiving side;
//! - [`error`]: the single error enum the bindings map to their own exception hierarchies.

pub mod agent_identity;
pub mod caller_identity;
pub mod client;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod identifiers;
pub mod model;
pub mod policy;
pub mod receipt;
pub mod webhook;

pub use client::{Client, ClientConfig, FallbackMode};
pub use error::{
    Error, ErrorKind, FieldError, Result, VerificationError, VerificationErrorKind, WebhookError, WebhookErrorKind,
};
