//! Client configuration: where the server is, how long to wait, how often to retry, and what `check` answers when the
//! server cannot be reached.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::agent_identity::AgentCredential;
use crate::error::{Error, Result};

/// The hosted Allowly API.
pub const DEFAULT_BASE_URL: &str = "https://api.allowly.ai";
/// Per-attempt HTTP timeout unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget of a whole `check`, retries included, unless configured.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Extra attempts after the first, unless configured.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// First backoff step unless configured (then ×2 per attempt, capped at 2 s, with full jitter).
pub const DEFAULT_RETRY_BASE_DELAY: Duration = Duration::from_millis(100);

/// What `check` answers for a scope when the server is unreachable, too slow, or failing with 5xx.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FallbackMode {
    /// Deny (`fallback_closed_*`). The default: an outage must not widen what an agent may do.
    #[default]
    Closed,
    /// Allow (`fallback_open_*`). Only for scopes whose action is harmless enough to run unchecked.
    Open,
}

impl FallbackMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackMode::Closed => "closed",
            FallbackMode::Open => "open",
        }
    }
}

/// Configuration of a [`Client`](super::Client).
///
/// `Debug` never prints the API key, only its non-secret tier prefix.
#[derive(Clone)]
pub struct ClientConfig {
    /// `allowly_rt_…` (runtime routes), `allowly_setup_…`, or a member's `allowly_mk_…` (answering escalations).
    pub api_key: String,
    /// Scheme, host and optional path prefix; trailing slashes are ignored.
    pub base_url: String,
    /// Timeout of one HTTP attempt (connect to last body byte).
    pub timeout: Duration,
    /// Deadline of a whole `check`, retries included; past it, `check` falls back.
    pub check_timeout: Duration,
    /// Extra attempts after the first for transport errors and 408/429/502/503/504.
    pub max_retries: u32,
    /// Per-scope fallback; scopes not listed fail closed.
    pub fallback_by_scope: HashMap<String, FallbackMode>,
    /// Allow `http://` base URLs (local development against `allowly serve`).
    pub allow_insecure_http: bool,
    /// Appended to `allowly-core/<version>` in `User-Agent` (bindings put their language and version here).
    pub user_agent: Option<String>,
    /// First backoff step; mostly for tests, which need fast retries.
    pub retry_base_delay: Duration,
    /// Where `check` gets its `X-Allowly-Agent-Token` (none: no header). With a source set, an outage never falls
    /// back open: a client that asserts an identity must not act without the server having checked it.
    pub agent_token: Option<AgentTokenSource>,
}

/// A caller-supplied token function: called once per `check`; an `Err` text becomes a `Config` error.
pub type AgentTokenSupplier = Arc<dyn Fn() -> std::result::Result<String, String> + Send + Sync>;

/// Where agent tokens come from.
#[derive(Clone)]
pub enum AgentTokenSource {
    /// A fresh 60-second token signed from the enrolled credential for each request.
    Credential(Arc<AgentCredential>),
    /// The caller's own function (another identity provider, a cache).
    Supplier(AgentTokenSupplier),
}

impl fmt::Debug for AgentTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentTokenSource::Credential(c) => f.debug_tuple("Credential").field(c).finish(),
            AgentTokenSource::Supplier(_) => f.write_str("Supplier(..)"),
        }
    }
}

impl AgentTokenSource {
    /// The token for one request.
    pub fn token(&self) -> Result<String> {
        let token = match self {
            AgentTokenSource::Credential(c) => c.token(),
            AgentTokenSource::Supplier(f) => {
                f().map_err(|e| config_error(format!("the agent token supplier failed: {e}")))?
            }
        };
        if token.trim().is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(config_error("the agent token must be a non-empty printable ASCII string"));
        }
        Ok(token)
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            api_key: String::new(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            check_timeout: DEFAULT_CHECK_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            fallback_by_scope: HashMap::new(),
            allow_insecure_http: false,
            user_agent: None,
            retry_base_delay: DEFAULT_RETRY_BASE_DELAY,
            agent_token: None,
        }
    }
}

impl ClientConfig {
    pub fn new(api_key: impl Into<String>) -> Self {
        ClientConfig { api_key: api_key.into(), ..Default::default() }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_check_timeout(mut self, check_timeout: Duration) -> Self {
        self.check_timeout = check_timeout;
        self
    }

    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the fallback of one scope.
    pub fn with_fallback(mut self, scope: impl Into<String>, mode: FallbackMode) -> Self {
        self.fallback_by_scope.insert(scope.into(), mode);
        self
    }

    pub fn with_allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    pub fn with_retry_base_delay(mut self, delay: Duration) -> Self {
        self.retry_base_delay = delay;
        self
    }

    /// Signs a fresh agent token from `credential` for every check.
    pub fn with_agent_credential(mut self, credential: AgentCredential) -> Self {
        self.agent_token = Some(AgentTokenSource::Credential(Arc::new(credential)));
        self
    }

    /// Takes every check's agent token from `supplier`.
    pub fn with_agent_token_supplier(
        mut self,
        supplier: impl Fn() -> std::result::Result<String, String> + Send + Sync + 'static,
    ) -> Self {
        self.agent_token = Some(AgentTokenSource::Supplier(Arc::new(supplier)));
        self
    }

    /// The fallback of a scope (closed unless mapped).
    pub fn fallback_for(&self, scope: &str) -> FallbackMode {
        self.fallback_by_scope.get(scope).copied().unwrap_or_default()
    }

    /// Validates everything and returns the normalized base URL. No message here ever contains the key.
    pub(crate) fn validated_base_url(&self) -> Result<Url> {
        if self.api_key.is_empty() {
            return Err(config_error("api_key must not be empty"));
        }
        if !self.api_key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(config_error("api_key must be printable ASCII without whitespace or control characters"));
        }
        if self.timeout.is_zero() {
            return Err(config_error("timeout must be greater than zero"));
        }
        if self.check_timeout.is_zero() {
            return Err(config_error("check_timeout must be greater than zero"));
        }
        let trimmed = self.base_url.trim().trim_end_matches('/');
        let url = Url::parse(trimmed).map_err(|e| config_error(format!("base_url is not a valid URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure_http => {}
            "http" => return Err(config_error("HTTPS is required; set allow_insecure_http for local development")),
            other => return Err(config_error(format!("base_url must be an http(s) URL, not `{other}:`"))),
        }
        if url.host().is_none() {
            return Err(config_error("base_url has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(config_error("base_url must not have a query or a fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(config_error("base_url must not contain credentials"));
        }
        Ok(url)
    }
}

fn config_error(message: impl Into<String>) -> Error {
    Error::Config { message: message.into() }
}

/// The non-secret part of a key: its tier prefix, so a log still says which kind of key was configured.
pub(crate) fn redacted_key(api_key: &str) -> String {
    for prefix in ["allowly_rt_", "allowly_setup_", "allowly_mk_"] {
        if api_key.starts_with(prefix) {
            return format!("{prefix}…[redacted]");
        }
    }
    if api_key.is_empty() { String::new() } else { "[redacted]".to_owned() }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_key", &redacted_key(&self.api_key))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("check_timeout", &self.check_timeout)
            .field("max_retries", &self.max_retries)
            .field("fallback_by_scope", &self.fallback_by_scope)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("user_agent", &self.user_agent)
            .field("retry_base_delay", &self.retry_base_delay)
            .field("agent_token", &self.agent_token)
            .finish()
    }
}
