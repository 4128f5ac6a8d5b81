//! `allowly serve`: runs allowly-server (the library does the work; this only maps flags and exit codes).
//!
//! The master key is read from `ALLOWLY_MASTER_KEY` only — never from a flag — so it stays out of shell history
//! and process listings. `--dev` generates one in a 0600 file next to the database instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use allowly_server::admission::Limits as AdmissionLimits;
use allowly_server::rate_limit::{Limit, RateLimits};
use clap::Args;
use std::time::Duration;

/// Flags of `allowly serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the ready file tells which).
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Database URL (`sqlite:PATH` or `postgres://…`). With `--dev` it defaults to `./.allowly/dev.db`. Without
    /// `--dev` the database must have been set up with `allowly init` (or pass `--ready-file` to bootstrap it here).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Development mode: bootstrap a workspace and keys on first start and keep them re-readable across restarts.
    /// Confirmation timeouts (`confirmation_timeout_seconds`) may then be as short as 1 s instead of 60 s, and
    /// expired confirmations are swept every second, so expiry tests need not wait a minute.
    #[arg(long)]
    pub dev: bool,
    /// Write `{"base_url","workspace_id","runtime_api_key","setup_api_key"}` here (mode 0600) once listening.
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// Requests per second one API key may make on authenticated routes, sustained (0 = no limit). Above it the
    /// server answers 429 `rate_limited` with `Retry-After`.
    #[arg(long, env = "ALLOWLY_RATE_LIMIT_PER_KEY", value_name = "PER_SECOND", default_value_t = DEFAULT_KEY.per_second)]
    pub rate_limit_per_key: f64,
    /// How many requests one API key may make at once after a quiet spell (the bucket size).
    #[arg(long, env = "ALLOWLY_RATE_LIMIT_KEY_BURST", value_name = "N", default_value_t = DEFAULT_KEY.burst)]
    pub rate_limit_key_burst: u32,
    /// Checks per second on one authorization, sustained (0 = no limit).
    #[arg(
        long,
        env = "ALLOWLY_RATE_LIMIT_PER_AUTHORIZATION",
        value_name = "PER_SECOND",
        default_value_t = DEFAULT_AUTHORIZATION.per_second
    )]
    pub rate_limit_per_authorization: f64,
    /// How many checks one authorization may make at once after a quiet spell.
    #[arg(
        long,
        env = "ALLOWLY_RATE_LIMIT_AUTHORIZATION_BURST",
        value_name = "N",
        default_value_t = DEFAULT_AUTHORIZATION.burst
    )]
    pub rate_limit_authorization_burst: u32,
    /// Overload control: requests in progress at once (0 = no overload control). Beyond them and the queue the
    /// server answers 503 `overloaded` with `Retry-After` before any work, instead of answering everyone late.
    #[arg(long, env = "ALLOWLY_MAX_IN_FLIGHT", value_name = "N", default_value_t = DEFAULT_ADMISSION.max_in_flight)]
    pub max_in_flight: u32,
    /// Requests that may wait for a slot at once (0 = none wait: a request finding every slot busy is refused).
    #[arg(long, env = "ALLOWLY_MAX_QUEUE", value_name = "N", default_value_t = DEFAULT_ADMISSION.max_queue)]
    pub max_queue: u32,
    /// The longest a request of a burst waits for a slot before it is refused, in milliseconds (0 = it does not
    /// wait). While the queue is standing (a request was refused within the last 100 ms) the wait is 10 ms.
    #[arg(
        long,
        env = "ALLOWLY_MAX_QUEUE_WAIT_MS",
        value_name = "MS",
        default_value_t = DEFAULT_ADMISSION.max_queue_wait.as_millis() as u64
    )]
    pub max_queue_wait_ms: u64,
    /// Let webhook endpoints use this host name, address or CIDR range although it is not public (plain http
    /// included). Repeatable. Without it (and without `--dev`) endpoints must be https URLs of public addresses; with
    /// it, only the listed receivers are exempt, under `--dev` too.
    #[arg(long = "webhook-allow", value_name = "HOST|CIDR")]
    pub webhook_allow: Vec<String>,
    /// SQLite commit durability. `full` (default): every answered check is fsynced and survives power loss.
    /// `normal`: faster commits that survive a crash of the server process but may lose the last answered checks
    /// if the machine loses power. Ignored on PostgreSQL.
    #[arg(long, env = "ALLOWLY_SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSynchronous::Full)]
    pub sqlite_synchronous: SqliteSynchronous,
}

/// `--sqlite-synchronous` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSynchronous {
    Full,
    Normal,
}

const DEFAULT_KEY: Limit = RateLimits::DEFAULT_PER_KEY;
const DEFAULT_AUTHORIZATION: Limit = RateLimits::DEFAULT_PER_AUTHORIZATION;
const DEFAULT_ADMISSION: AdmissionLimits = AdmissionLimits::DEFAULT;

/// Runs the server until Ctrl-C / SIGTERM. Exit code 0 on a clean stop, 1 on a runtime failure, 2 on bad config.
pub fn run(args: ServeArgs) -> ExitCode {
    init_logging();
    let master_key = match std::env::var("ALLOWLY_MASTER_KEY") {
        Ok(text) => match allowly_server::MasterKey::from_base64(&text) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("error: ALLOWLY_MASTER_KEY: {e}");
                return ExitCode::from(2);
            }
        },
        Err(_) => None,
    };
    let rates = [args.rate_limit_per_key, args.rate_limit_per_authorization];
    if rates.iter().any(|r| !r.is_finite() || *r < 0.0) {
        eprintln!("error: --rate-limit-per-key and --rate-limit-per-authorization must be 0 or more");
        return ExitCode::from(2);
    }
    let rate_limits = RateLimits {
        per_key: Limit::new(args.rate_limit_per_key, args.rate_limit_key_burst),
        per_authorization: Limit::new(args.rate_limit_per_authorization, args.rate_limit_authorization_burst),
    };
    if !args.dev && args.db.is_none() {
        eprintln!("error: --db is required without --dev");
        return ExitCode::from(2);
    }
    let cfg = allowly_server::ServeConfig {
        listen: args.listen,
        db_url: args.db,
        dev: args.dev,
        ready_file: args.ready_file,
        master_key,
        rate_limits,
        admission: AdmissionLimits {
            max_in_flight: args.max_in_flight,
            max_queue: args.max_queue,
            max_queue_wait: Duration::from_millis(args.max_queue_wait_ms),
        },
        webhook_allow: args.webhook_allow,
        sqlite_synchronous: match args.sqlite_synchronous {
            SqliteSynchronous::Full => allowly_server::store::Synchronous::Full,
            SqliteSynchronous::Normal => allowly_server::store::Synchronous::Normal,
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(allowly_server::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(allowly_server::ServeError::Config(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Sends the server's tracing events to stderr. Without a subscriber an internal error (a 500) would leave no trace
/// for the operator. The default filter is `info` (startup, shutdown, failures: no per-request lines), so a parent
/// that pipes stderr without reading it is not flooded; `RUST_LOG` overrides it. Events carry ids and error causes,
/// never key material (the server redacts secrets before they reach any error type).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // try_init: a second call (tests running `run` twice in one process) keeps the first subscriber.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}
