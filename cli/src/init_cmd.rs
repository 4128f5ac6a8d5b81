//! `allowly init --db URL`: bootstraps a production database once — a workspace, its first signing key, one runtime
//! and one setup API key — and prints the keys once.
//!
//! API keys are stored only as hashes, so this output is the only time their text exists: it goes to stdout as one
//! JSON object for the operator (or a script) to store. A second `init` on the same database refuses instead of
//! minting a second workspace. The master key that seals the signing keys is read from `ALLOWLY_MASTER_KEY` only —
//! never from a flag, so it stays out of shell history and process listings — and is never printed.

use std::process::ExitCode;

use allowly_server::bootstrap::{InitError, init, master_key_from_env};
use allowly_server::store::StoreError;
use clap::Args;

/// Flags of `allowly init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Database URL: `sqlite:PATH` (created if missing) or `postgres://…` (the database must exist).
    #[arg(long, value_name = "URL")]
    pub db: String,
}

/// Exit code 0 with the keys on stdout; 1 when the database is already initialised or unreachable; 2 on bad input.
pub fn run(args: InitArgs) -> ExitCode {
    let master = match master_key_from_env() {
        Ok(k) => k,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(init(&args.db, &master)) {
        Ok(keys) => {
            let out = serde_json::json!({
                "workspace_id": keys.workspace_id,
                "runtime_api_key": keys.runtime_api_key,
                "setup_api_key": keys.setup_api_key,
            });
            println!("{out}");
            eprintln!("Store these API keys now: they are not shown again. Serve with `allowly serve --db URL`.");
            ExitCode::SUCCESS
        }
        Err(e @ (InitError::Store(StoreError::UnsupportedUrl) | InitError::Store(StoreError::InMemory))) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
