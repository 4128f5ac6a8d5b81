//! allowly-mcp: the Allowly gate in front of an MCP server's tools.
//!
//! Every `tools/call` becomes one `check` of the tool's scope against the caller's authorization, *before* the tool
//! runs: [`Gate::on_tool_call`] answers [`Outcome::Allow`] (run it), [`Outcome::Deny`] (do not; tell the model why) or
//! [`Outcome::Confirm`] (ask the user, then [`Gate::resolve_confirmation`], which records the answer and checks again).
//!
//! [`Gate::step`] is the same decision for a whole MCP `tools/call` on either protocol era (2025-11-25 and
//! 2026-07-28): it answers a [`Step`] — run, an error result, an elicitation to push, an `input_required` result with
//! a sealed `requestState`, or a JSON-RPC error — with every text and shape built in [`results`], so the proxy and the
//! language middlewares only move values into their framework's types. A proxy in front of another MCP server wraps
//! that server's own `requestState` with [`Gate::wrap_upstream_state`] and reads a retry with
//! [`Gate::open_upstream_state`] first, so the client sees one state and the user is never asked twice in one call.
//!
//! The crate depends on no MCP library: the MCP side (rmcp in `allowly mcp proxy`, or a server's own middleware) maps
//! its request types to a [`CallContext`] and an [`Outcome`] to its result types. Decisions themselves come from
//! allowly-core's `Client`, so the fail-closed fallback and the confirmation routes are the core's, not re-implemented
//! here.
//!
//! Two rules are the gate's own:
//! - **Fail closed.** No identity, no authorization, an unreachable server or a failed check all deny; only scopes
//!   listed in [`FailMode::OpenFor`] are allowed during an outage.
//! - **Identity from trusted sources only.** [`Gate::step`] takes the caller from [`GateConfig::identity`] (the
//!   transport's principal, a server callback, a single-user process), never from tool arguments unless opted in.
//! - **Arguments stay out of receipts.** Tool arguments are copied into the check's `context` only for fields the
//!   operator names in [`GateConfig::context_fields`], since whatever goes into `context` ends up in a signed receipt.

mod annotations;
mod config;
mod gate;
mod request_state;
pub mod results;
mod step;
mod upstream_state;

pub use allowly_core::caller_identity::{IdentitySource, NO_TRUSTED_IDENTITY_HELP, TransportAuth};
pub use annotations::{GrantKind, ToolAnnotations};
pub use config::{
    AuthorizationResolver, AuthorizationTable, FailMode, FixedAuthorization, GateConfig, RequestStateConfig,
    ScopeMapping,
};
pub use gate::{CallContext, ConfirmNonce, Gate, Outcome, Resolved};
pub use request_state::{DEFAULT_REQUEST_STATE_TTL, MAX_REQUEST_STATE_CHARS, RequestStateKey};
pub use results::{ElicitAnswer, Unanswered};
pub use step::{ClientCapabilities, Era, PendingConfirmation, Retry, Step, StepInput};
pub use upstream_state::{MAX_UPSTREAM_STATE_CHARS, UpstreamResume};
