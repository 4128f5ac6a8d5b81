//! allowly-server: the self-hostable server of the Allowly SDK suite.
//!
//! It serves the wire-v1 contract (`docs/wire-v1.md`): authorizations, checks with the evaluation order
//! in [`policy`], confirmations, budget settlements and receipts, over SQLite or PostgreSQL ([`store`]).
//! Every decision writes its receipt row in the decision's own transaction; the [`signer`] task signs rows
//! asynchronously with allowly-core's signing code. The `allowly serve` command calls [`run`]; `allowly init` calls
//! [`bootstrap::init`].

pub mod admission;
pub mod auth;
pub mod bootstrap;
pub mod crypto;
pub mod decide;
pub mod demo_policy;
pub mod edition;
pub mod error;
pub mod escalation;
pub mod expiry;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod parse;
pub mod policy;
pub mod rate_limit;
pub mod routes;
pub mod signer;
pub mod store;
pub mod util;
pub mod webhook_guard;
pub mod webhooks;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use bootstrap::ReadyInfo;
pub use crypto::MasterKey;
#[doc(hidden)]
pub use routes::fuzzing;

/// `engine_version` of every receipt and check response: `sha256:<hex>` of core's engine manifest, the form the
/// official 0.8.0 SDK and Receipt Format wire 5 require (wire 4 accepts any text, so both wires carry the same value).
pub fn engine_version() -> &'static str {
    allowly_core::policy::engine_version()
}

/// Shared state of every route.
#[derive(Debug)]
pub struct AppState {
    pub store: store::Store,
    pub signer: Arc<signer::SignerHandle>,
    pub master: MasterKey,
    pub webhooks: Arc<webhooks::Dispatcher>,
    /// Where webhook endpoints may point (`--dev`, `--webhook-allow`); checked at configure and at connect time.
    pub webhook_guard: Arc<webhook_guard::Guard>,
    pub metrics: metrics::Metrics,
    /// `--dev`: confirmation timeouts may be as short as 1 s (60 s otherwise), so expiry tests need not wait.
    pub dev: bool,
    pub limiter: rate_limit::Limiter,
    /// Overload control: requests in progress and waiting (503 `overloaded` beyond them).
    pub admission: admission::Admission,
}

impl AppState {
    /// The shortest confirmation timeout this server allows.
    pub fn min_confirm_timeout(&self) -> i64 {
        if self.dev { decide::DEV_MIN_CONFIRM_TIMEOUT_SECS } else { decide::MIN_CONFIRM_TIMEOUT_SECS }
    }
}

/// What `allowly serve` passes in.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port (the ready file tells which).
    pub listen: SocketAddr,
    /// `sqlite:PATH` or `postgres://…`; `None` with `dev` means `./.allowly/dev.db`.
    pub db_url: Option<String>,
    /// Development mode: generated master key file and re-readable dev API keys next to the database.
    pub dev: bool,
    /// Where to write `{"base_url","workspace_id","runtime_api_key","setup_api_key"}` once listening. The keys are
    /// included only when this process knows them (`--dev`, or it just bootstrapped the database); otherwise the
    /// file still tells that the server is up and where.
    pub ready_file: Option<PathBuf>,
    /// The master key sealing signing keys; required unless `dev` (then read from or created in a 0600 file).
    pub master_key: Option<MasterKey>,
    /// Request rate limits per API key and per authorization (429 `rate_limited` above them).
    pub rate_limits: rate_limit::RateLimits,
    /// Overload control (`--max-in-flight`, `--max-queue`, `--max-queue-wait-ms`): 503 `overloaded` beyond them.
    pub admission: admission::Limits,
    /// `--webhook-allow`: host names, addresses or CIDR ranges webhook endpoints may use although they are not public
    /// (plain http included). Empty: only public https endpoints, unless `dev`.
    pub webhook_allow: Vec<String>,
    /// `--sqlite-synchronous`: SQLite commit durability (FULL unless an operator chooses otherwise).
    pub sqlite_synchronous: store::Synchronous,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// A running server (used by `run` and by tests).
pub struct Running {
    pub addr: SocketAddr,
    pub info: Option<ReadyInfo>,
    shutdown: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    state: Arc<AppState>,
}

impl Running {
    /// The signer of this process (tests read its counters).
    pub fn signer(&self) -> &signer::SignerHandle {
        &self.state.signer
    }

    /// Stops accepting, lets in-flight requests finish, stops the signer and closes the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        self.state.store.close().await;
    }
}

/// Opens the database, bootstraps, binds and starts serving; returns once the socket listens and the ready file
/// (if any) is written.
pub async fn start(cfg: ServeConfig) -> Result<Running, ServeError> {
    let guard = Arc::new(webhook_guard::Guard::new(cfg.dev, &cfg.webhook_allow).map_err(ServeError::Config)?);
    let boot = bootstrap::prepare(&cfg).await?;
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let signer = signer::spawn(boot.store.clone(), boot.master.clone(), shutdown_rx.clone());
    let webhooks = webhooks::spawn(boot.store.clone(), boot.master.clone(), guard.clone(), shutdown_rx.clone());
    // Under `--dev` a confirmation may time out after 1 s, so the sweep runs as often.
    let sweep_every = std::time::Duration::from_secs(if cfg.dev { 1 } else { 10 });
    expiry::spawn(boot.store.clone(), signer.clone(), sweep_every, shutdown_rx.clone());
    let state = Arc::new(AppState {
        store: boot.store,
        signer,
        master: boot.master,
        webhooks,
        webhook_guard: guard,
        metrics: Default::default(),
        dev: cfg.dev,
        limiter: rate_limit::Limiter::new(cfg.rate_limits),
        admission: admission::Admission::new(cfg.admission),
    });
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let app = routes::router(state.clone());
    let mut rx = shutdown_rx;
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    let policy = match cfg.dev {
        true => Some(demo_policy::ensure(&state.store, &boot.workspace_id).await?),
        false => None,
    };
    let info = boot.keys.map(|k| ReadyInfo {
        base_url: format!("http://{addr}"),
        workspace_id: k.workspace_id,
        runtime_api_key: k.runtime_api_key,
        setup_api_key: k.setup_api_key,
        policy: policy.clone(),
    });
    if let Some(path) = &cfg.ready_file {
        let doc = match &info {
            Some(info) => info.to_json(),
            None => serde_json::json!({"base_url": format!("http://{addr}"), "workspace_id": boot.workspace_id}),
        };
        bootstrap::write_private_json(path, &doc)?;
    }
    tracing::info!(%addr, "allowly-server listening");
    Ok(Running { addr, info, shutdown, server, state })
}

/// Runs until Ctrl-C / SIGTERM.
pub async fn run(cfg: ServeConfig) -> Result<(), ServeError> {
    let running = start(cfg).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
