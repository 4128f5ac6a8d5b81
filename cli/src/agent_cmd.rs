//! `allowly agent enroll AGENT_ID --out FILE`: generates the agent's Ed25519 key on this machine, registers only its
//! public key (setup API) and writes the credential file the official 0.8.0 `NativeAgentCredential` reads.
//!
//! The setup key is read from `ALLOWLY_SETUP_API_KEY` only — never from an argument — and the credential file (it holds
//! the private key) is written with mode 0600 and never printed. An existing file is not overwritten without
//! `--force`, so a working credential is not lost by a repeated command.

use std::path::PathBuf;
use std::process::ExitCode;

use allowly_core::{Client, ClientConfig};
use clap::{Args, Subcommand};

pub const SETUP_KEY_ENV: &str = "ALLOWLY_SETUP_API_KEY";

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Enroll AGENT_ID: a new key pair here, the public key registered, the credential written to --out.
    Enroll(EnrollArgs),
}

#[derive(Args)]
pub struct EnrollArgs {
    /// The agent id, exactly as authorizations and policies name it.
    #[arg(value_name = "AGENT_ID")]
    pub agent_id: String,
    /// Where to write the credential (mode 0600; keep it on the machine that runs the agent).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The Allowly API (`http://` only for loopback addresses).
    #[arg(long, env = "ALLOWLY_BASE_URL", value_name = "URL")]
    pub base_url: String,
    /// Replace an existing credential file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(command: AgentCommand) -> ExitCode {
    match command {
        AgentCommand::Enroll(args) => enroll(args),
    }
}

fn enroll(args: EnrollArgs) -> ExitCode {
    let Ok(key) = std::env::var(SETUP_KEY_ENV) else {
        eprintln!("error: set {SETUP_KEY_ENV} to an Allowly setup API key");
        return ExitCode::from(2);
    };
    if args.out.exists() && !args.force {
        eprintln!("error: {} exists; pass --force to replace it", args.out.display());
        return ExitCode::from(2);
    }
    let config = ClientConfig::new(key)
        .with_base_url(&args.base_url)
        .with_allow_insecure_http(crate::mcp::url_is_loopback(&args.base_url))
        .with_user_agent(concat!("allowly-cli/", env!("CARGO_PKG_VERSION")));
    let client = match Client::new(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let credential = match runtime.block_on(client.enroll_agent(&args.agent_id)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: enrollment failed: {e}");
            return ExitCode::from(1);
        }
    };
    let doc: serde_json::Value = match serde_json::from_str(&credential.to_json()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = allowly_server::bootstrap::write_private_json(&args.out, &doc) {
        eprintln!(
            "error: cannot write {}: {e} (the key {} is registered; revoke it)",
            args.out.display(),
            credential.key_id
        );
        return ExitCode::from(1);
    }
    println!(
        "enrolled agent {} (key {}, binding {}) in workspace {}; credential written to {}",
        credential.agent_id,
        credential.key_id,
        credential.binding_id,
        credential.workspace_id,
        args.out.display()
    );
    ExitCode::SUCCESS
}
