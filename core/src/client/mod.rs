//! The async HTTP client of wire-v1.
//!
//! One [`Client`] per API key: it owns one connection pool (reqwest + rustls) and is cheap to clone (an `Arc` inside),
//! so bindings keep a single instance and share it across tasks.
//!
//! Route families live in their own files (`admin/` for the setup-key routes, `authorizations`, `check`, `confirmations`, `escalations`, `budget`, `receipts`, `keys`,
//! `policies`, `health`);
//! every one of them goes through `transport`, which owns authentication, idempotency keys, retries, error mapping and
//! redaction. The safety property of the client — `check` fails closed when the server cannot answer — lives in
//! `check.rs`.

mod admin;
mod agents;
mod authorizations;
mod budget;
mod check;
mod config;
mod confirmations;
mod escalations;
mod health;
mod keys;
mod policies;
mod receipts;
mod transport;

pub use admin::AuditPages;
pub use keys::{DEFAULT_KEYS_DOC_CACHE_TTL, KeysDocOptions, fetch_keys_doc};

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use config::{
    AgentTokenSource, AgentTokenSupplier, ClientConfig, DEFAULT_BASE_URL, DEFAULT_CHECK_TIMEOUT, DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_BASE_DELAY, DEFAULT_TIMEOUT, FallbackMode,
};
pub use confirmations::{ConfirmPrompt, WaitOptions};
pub use policies::MAX_POLICY_PAGE;
pub use receipts::{FetchSignedOptions, MAX_RECEIPT_WAIT};

use crate::error::Result;
use transport::Transport;

/// Every duration a caller gets by naming nothing, by the name the bindings' parameters carry. Python and Kotlin must
/// spell a default in their signatures; a test in each checks those literals against this table, so a default is
/// changed here and nowhere else.
pub const DEFAULT_DURATIONS: &[(&str, Duration)] = &[
    ("timeout", DEFAULT_TIMEOUT),
    ("check_timeout", DEFAULT_CHECK_TIMEOUT),
    ("retry_base_delay", DEFAULT_RETRY_BASE_DELAY),
    ("wait_timeout", WaitOptions::DEFAULT.timeout),
    ("wait_poll_interval", WaitOptions::DEFAULT.poll_interval),
    ("fetch_signed_timeout", FetchSignedOptions::DEFAULT.timeout),
    ("fetch_signed_poll_interval", FetchSignedOptions::DEFAULT.poll_interval),
    ("keys_doc_cache_ttl", DEFAULT_KEYS_DOC_CACHE_TTL),
];

/// `allowly-core/<version>`: the start of the `User-Agent` and of a fallback's `engine_version`.
pub const CORE_VERSION: &str = transport::CORE_USER_AGENT;

/// The Allowly client. `Clone` shares the connection pool; `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    transport: Transport,
}

impl Client {
    /// Validates the configuration (key shape, `https://` unless `allow_insecure_http`) and builds the connection
    /// pool. Needs no running async runtime.
    pub fn new(config: ClientConfig) -> Result<Client> {
        let base = config.validated_base_url()?;
        let transport = Transport::new(&config, base)?;
        Ok(Client { inner: Arc::new(Inner { config, transport }) })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The normalized base URL requests are sent to.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url().as_str().trim_end_matches('/')
    }

    fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The per-attempt timeout.
    fn timeout(&self) -> Duration {
        self.inner.transport.timeout()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("base_url", &self.base_url()).field("config", &self.inner.config).finish()
    }
}

/// Bindings move the client across threads and tasks.
const _: fn() = || {
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    assert_shareable::<Client>();
};
