//! `allowly`: the command-line front of allowly-core.
//!
//! Exit codes are part of the interface so scripts and CI can rely on them: 0 = everything verified / succeeded,
//! 1 = something was invalid (the reason is on stderr), 2 = usage or input error (clap uses 2 as well).

/// mimalloc instead of the system allocator: under load the server spent about a fifth of its CPU in glibc's
/// malloc/free (request bodies, JSON values, receipt rows); see bench/README.md. The floor uses the same one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod agent_cmd;
mod audit_cmd;
mod export_cmd;
mod id_cmd;
mod init_cmd;
mod inputs;
mod mcp;
mod receipt_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "allowly",
    version,
    about = "Allowly: initialise a database, serve the API, list the audit trail, verify signed receipts offline, derive identifiers, gate MCP servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Allowly server (`--dev` bootstraps a local workspace and writes its keys to the ready file).
    Serve(serve_cmd::ServeArgs),
    /// Bootstrap a production database once (needs ALLOWLY_MASTER_KEY) and print its workspace and API keys once.
    Init(init_cmd::InitArgs),
    /// List signed receipts newest first, filtered by run, agent, user, action, decision and time (a setup key in
    /// ALLOWLY_API_KEY); a table, or JSON Lines with `--json`.
    Audit(audit_cmd::AuditArgs),
    /// Work with single signed receipts.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// Work with receipt exports (JSON Lines, one signed receipt per line).
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Derive pseudonymous identifiers.
    Id {
        #[command(subcommand)]
        command: IdCommand,
    },
    /// Enroll agents: a key pair generated here, only the public key registered (`agent enroll`).
    Agent {
        #[command(subcommand)]
        command: agent_cmd::AgentCommand,
    },
    /// Gate an MCP server's tool calls with Allowly (`proxy`), or authorize an agent for its tools (`authorize`).
    Mcp {
        #[command(subcommand)]
        command: mcp::McpCommand,
    },
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Verify one or more receipt files (a bare receipt or a `{"status":"signed","receipt":…}` envelope).
    Verify {
        #[command(flatten)]
        trust: TrustArgs,
        /// Receipt JSON files.
        #[arg(required = true, value_name = "RECEIPT.json")]
        receipts: Vec<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Verify every receipt of a JSONL export with batch verification on all cores.
    Verify {
        #[command(flatten)]
        trust: TrustArgs,
        /// The export file (`GET /v1/receipts/export`), one receipt per line.
        #[arg(value_name = "FILE.jsonl")]
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum IdCommand {
    /// Print the `email_hmac:v1:` user id for EMAIL. The pepper is read from ALLOWLY_PII_PEPPER only, never from an
    /// argument, so it does not end up in shell history or process listings.
    FromEmail {
        #[arg(value_name = "EMAIL")]
        email: String,
    },
}

/// What the verifier trusts: the caller must say which workspace and (optionally) which key fingerprints it expects,
/// because a key document does not authenticate itself (receipt format §7).
#[derive(Args)]
pub struct TrustArgs {
    /// The workspace key document (`GET /v1/workspaces/{id}/keys`), as a JSON file.
    #[arg(long, value_name = "KEYS.json")]
    pub keys: std::path::PathBuf,
    /// The workspace the receipts must come from.
    #[arg(long, value_name = "WS")]
    pub workspace_id: String,
    /// Only accept receipts signed by a key with this `sha256:<hex>` fingerprint (repeatable).
    #[arg(long = "trusted-fingerprint", value_name = "F")]
    pub trusted_fingerprints: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve_cmd::run(args),
        Command::Init(args) => init_cmd::run(args),
        Command::Audit(args) => audit_cmd::run(args),
        Command::Receipt { command: ReceiptCommand::Verify { trust, receipts } } => {
            receipt_cmd::verify(&trust, &receipts)
        }
        Command::Export { command: ExportCommand::Verify { trust, file } } => export_cmd::verify(&trust, &file),
        Command::Id { command: IdCommand::FromEmail { email } } => id_cmd::from_email(&email),
        Command::Mcp { command } => mcp::run(command),
        Command::Agent { command } => agent_cmd::run(command),
    }
}
