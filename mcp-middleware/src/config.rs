//! How the gate turns a tool call into a check: which scope, which authorization, what context, and what an outage
//! means.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use allowly_core::caller_identity::IdentitySource;

use crate::request_state::{DEFAULT_REQUEST_STATE_TTL, RequestStateKey};

/// Which scope a tool call is checked against.
///
/// The scope is the name the user's authorization grants, so it must be stable across restarts of the MCP server:
/// that is why it is derived from the tool name (and optionally a server name) rather than from anything dynamic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ScopeMapping {
    /// The scope is the tool name itself.
    #[default]
    ToolName,
    /// A template with `{server}` and `{tool}` placeholders, e.g. `mcp.{server}.{tool}`.
    Template { template: String, server: String },
    /// An explicit table; tools missing from it fall back to `otherwise`.
    Map { scopes: HashMap<String, String>, otherwise: Box<ScopeMapping> },
}

impl ScopeMapping {
    pub fn template(template: impl Into<String>, server: impl Into<String>) -> Self {
        ScopeMapping::Template { template: template.into(), server: server.into() }
    }

    /// The scope of `tool`.
    pub fn scope_for(&self, tool: &str) -> String {
        match self {
            ScopeMapping::ToolName => tool.to_owned(),
            ScopeMapping::Template { template, server } => template.replace("{server}", server).replace("{tool}", tool),
            ScopeMapping::Map { scopes, otherwise } => {
                scopes.get(tool).cloned().unwrap_or_else(|| otherwise.scope_for(tool))
            }
        }
    }
}

/// What the gate answers when the Allowly server cannot be reached or is too slow.
///
/// The gate, not the client, owns this decision for tool calls: the same `Client` may be shared with code that has
/// other fallback needs, and an MCP operator configures the gate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Every scope fails closed (`fallback_closed_*`). The default.
    #[default]
    Closed,
    /// The listed scopes fail open (`fallback_open_*`); every other scope fails closed.
    OpenFor(BTreeSet<String>),
}

impl FailMode {
    pub fn is_open(&self, scope: &str) -> bool {
        match self {
            FailMode::Closed => false,
            FailMode::OpenFor(scopes) => scopes.contains(scope),
        }
    }
}

/// Maps whoever is calling (an MCP session's user, a header, a token subject) to the authorization their agent holds.
///
/// `None` means "no authorization": the gate denies with `authorization_not_found` without asking the server, and
/// the tool never runs.
pub trait AuthorizationResolver: Send + Sync {
    fn authorization_for(&self, identity: Option<&str>) -> Option<String>;
}

/// One authorization for every caller: the shape of a single-user stdio proxy, where the process itself is the
/// identity.
#[derive(Debug, Clone)]
pub struct FixedAuthorization(pub String);

impl AuthorizationResolver for FixedAuthorization {
    fn authorization_for(&self, _identity: Option<&str>) -> Option<String> {
        Some(self.0.clone())
    }
}

/// A table from identity to authorization id; a call without an identity, or with an unknown one, has none.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationTable(pub HashMap<String, String>);

impl AuthorizationResolver for AuthorizationTable {
    fn authorization_for(&self, identity: Option<&str>) -> Option<String> {
        identity.and_then(|id| self.0.get(id).cloned())
    }
}

impl<F> AuthorizationResolver for F
where
    F: Fn(Option<&str>) -> Option<String> + Send + Sync,
{
    fn authorization_for(&self, identity: Option<&str>) -> Option<String> {
        self(identity)
    }
}

/// Configuration of a [`Gate`](crate::Gate).
#[derive(Clone)]
pub struct GateConfig {
    pub scope_for_tool: ScopeMapping,
    pub fail_mode: FailMode,
    pub resolver: Arc<dyn AuthorizationResolver>,
    /// Top-level argument names copied into the check's `context`, keyed by context field name.
    ///
    /// Empty by default on purpose: arguments routinely carry secrets and personal data (message bodies, tokens), and
    /// whatever is in `context` is recorded in a receipt that is kept and shared for audits. Only fields an operator
    /// names — because a `confirm_when` / `deny_when` condition needs them — go in.
    pub context_fields: BTreeMap<String, String>,
    /// A top-level argument whose string value is the check's `resource` (an identifier such as `doc:123`), if any.
    pub resource_field: Option<String>,
    /// Ask the server to wait until receipts are signed before answering (`?wait=true`): slower calls, but the receipt
    /// handed back is already signed.
    pub wait_for_signed_receipts: bool,
    /// Where [`Gate::step`](crate::Gate::step) takes the caller's identity from. [`IdentitySource::Transport`] unless
    /// the gate is for one authorization ([`GateConfig::for_authorization`]: a single-user process).
    pub identity: IdentitySource,
    pub request_state: RequestStateConfig,
}

/// How 2026-07-28 `requestState` values are sealed.
#[derive(Debug, Clone)]
pub struct RequestStateConfig {
    /// `None`: a random key per [`Gate`](crate::Gate). Configure one only to let several gate instances behind one
    /// client open each other's states.
    pub key: Option<RequestStateKey>,
    /// The gate's identity, sealed as associated data: a state opens only at a gate of the same audience.
    pub audience: String,
    /// Longest a state stays valid; never longer than the confirmation it carries.
    pub ttl: Duration,
}

impl Default for RequestStateConfig {
    fn default() -> Self {
        RequestStateConfig { key: None, audience: "allowly-mcp".to_owned(), ttl: DEFAULT_REQUEST_STATE_TTL }
    }
}

impl GateConfig {
    pub fn new(resolver: impl AuthorizationResolver + 'static) -> Self {
        GateConfig {
            scope_for_tool: ScopeMapping::default(),
            fail_mode: FailMode::default(),
            resolver: Arc::new(resolver),
            context_fields: BTreeMap::new(),
            resource_field: None,
            wait_for_signed_receipts: false,
            identity: IdentitySource::Transport,
            request_state: RequestStateConfig::default(),
        }
    }

    /// A gate for one authorization (the stdio proxy).
    pub fn for_authorization(authorization_id: impl Into<String>) -> Self {
        let mut config = GateConfig::new(FixedAuthorization(authorization_id.into()));
        config.identity = IdentitySource::Process("local".to_owned());
        config
    }

    pub fn with_identity(mut self, identity: IdentitySource) -> Self {
        self.identity = identity;
        self
    }

    pub fn with_request_state(mut self, request_state: RequestStateConfig) -> Self {
        self.request_state = request_state;
        self
    }

    pub fn with_scope_mapping(mut self, mapping: ScopeMapping) -> Self {
        self.scope_for_tool = mapping;
        self
    }

    pub fn with_fail_mode(mut self, fail_mode: FailMode) -> Self {
        self.fail_mode = fail_mode;
        self
    }

    /// Copies argument `argument` into the check's context as `field`.
    pub fn with_context_field(mut self, field: impl Into<String>, argument: impl Into<String>) -> Self {
        self.context_fields.insert(field.into(), argument.into());
        self
    }

    pub fn with_resource_field(mut self, argument: impl Into<String>) -> Self {
        self.resource_field = Some(argument.into());
        self
    }

    pub fn with_wait_for_signed_receipts(mut self, wait: bool) -> Self {
        self.wait_for_signed_receipts = wait;
        self
    }
}

impl fmt::Debug for GateConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateConfig")
            .field("scope_for_tool", &self.scope_for_tool)
            .field("fail_mode", &self.fail_mode)
            .field("context_fields", &self.context_fields)
            .field("resource_field", &self.resource_field)
            .field("wait_for_signed_receipts", &self.wait_for_signed_receipts)
            .field("identity", &self.identity)
            .field("request_state", &self.request_state)
            .finish_non_exhaustive()
    }
}
