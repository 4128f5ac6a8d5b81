//! `allowly mcp …`: put the Allowly gate in front of any stdio MCP server.
//!
//! The decisions are allowly-mcp's (`Gate`); this module only wires rmcp to it. The API key is read from
//! `ALLOWLY_API_KEY` only, never from an argument, so it stays out of process listings and shell history. Stdout is
//! the MCP channel of `proxy`, so every message of ours goes to stderr.

mod authorize;
mod child;
mod proxy;
mod tool_call;

use std::collections::BTreeSet;
use std::process::ExitCode;

use allowly_core::{Client, ClientConfig};
use allowly_mcp::{FailMode, GateConfig, ScopeMapping};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum McpCommand {
    /// Serve MCP on stdio in front of COMMAND (an MCP server spoken to over its stdio); every `tools/call` is checked
    /// with Allowly first.
    Proxy(ProxyArgs),
    /// Start COMMAND, list its tools and create an authorization for them: read-only tools are granted, the others
    /// (destructive, or without annotations) are granted with confirmation. Prints the authorization id.
    Authorize(AuthorizeArgs),
}

/// Where Allowly is, and how tool names become scopes.
#[derive(Args)]
pub struct ServerArgs {
    /// The Allowly API (`http://` only for loopback addresses).
    #[arg(long, env = "ALLOWLY_BASE_URL", value_name = "URL")]
    pub base_url: String,
    /// Scope of a tool, e.g. `mcp.{server}.{tool}`; the tool name itself when omitted.
    #[arg(long, value_name = "T")]
    pub scope_template: Option<String>,
    /// The `{server}` of the template; the MCP server's own `serverInfo.name` when omitted.
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
}

#[derive(Args)]
pub struct ProxyArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The authorization every tool call is checked against.
    #[arg(long, value_name = "ID")]
    pub authorization_id: String,
    /// Leave tools the authorization does not grant out of `tools/list`.
    #[arg(long)]
    pub hide_ungranted: bool,
    /// Allow this scope when Allowly cannot be reached (repeatable). Every other scope fails closed.
    #[arg(long = "fail-open-scope", value_name = "SCOPE")]
    pub fail_open_scopes: Vec<String>,
    /// Copy tool argument ARG into the check's context as FIELD (repeatable). Nothing else from the arguments is
    /// sent, because the context is recorded in receipts.
    #[arg(long = "context-field", value_name = "FIELD=ARG", value_parser = parse_pair)]
    pub context_fields: Vec<(String, String)>,
    /// The tool argument holding the check's resource id.
    #[arg(long, value_name = "ARG")]
    pub resource_field: Option<String>,
    /// The MCP server to run, and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Args)]
pub struct AuthorizeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long, value_name = "USER")]
    pub user_id: String,
    #[arg(long, value_name = "AGENT")]
    pub agent_id: String,
    /// The MCP server to run, and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(command: McpCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("allowly mcp: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match command {
            McpCommand::Proxy(args) => run_proxy(args).await,
            McpCommand::Authorize(args) => authorize::run(args).await,
        }
    });
    // The stdin reader of the proxy is a blocking read that cannot be cancelled; do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("allowly mcp: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run_proxy(args: ProxyArgs) -> Result<(), String> {
    let client = client(&args.server.base_url)?;
    let mut config = GateConfig::for_authorization(&args.authorization_id);
    if !args.fail_open_scopes.is_empty() {
        config =
            config.with_fail_mode(FailMode::OpenFor(args.fail_open_scopes.iter().cloned().collect::<BTreeSet<_>>()));
    }
    for (field, argument) in args.context_fields {
        config = config.with_context_field(field, argument);
    }
    if let Some(resource) = args.resource_field {
        config = config.with_resource_field(resource);
    }
    let options = proxy::ProxyOptions {
        client,
        gate_config: config,
        scope_template: args.server.scope_template,
        server_name: args.server.server_name,
        authorization_id: args.authorization_id,
        hide_ungranted: args.hide_ungranted,
        command: args.command,
    };
    proxy::Proxy::launch(options).await?.run().await
}

/// The era of a client request: the protocol version its own `_meta` names (2026-07-28), else the one negotiated
/// at `initialize`.
fn era_of(context: &rmcp::service::RequestContext<rmcp::service::RoleServer>) -> allowly_mcp::Era {
    context
        .protocol_version()
        .map_or(allowly_mcp::Era::Legacy2025_11_25, |v| allowly_mcp::Era::of_protocol_version(v.as_str()))
}

/// A client for the runtime routes, with the key from `ALLOWLY_API_KEY`.
fn client(base_url: &str) -> Result<Client, String> {
    let key = std::env::var("ALLOWLY_API_KEY").map_err(|_| "set ALLOWLY_API_KEY to an Allowly runtime API key")?;
    let loopback = url_is_loopback(base_url);
    Client::new(
        ClientConfig::new(key)
            .with_base_url(base_url)
            .with_allow_insecure_http(loopback)
            .with_user_agent(concat!("allowly-mcp-proxy/", env!("CARGO_PKG_VERSION"))),
    )
    .map_err(|e| e.to_string())
}

/// Plain HTTP is accepted only to this machine (a local `allowly serve`), where nothing crosses a network.
pub(crate) fn url_is_loopback(base_url: &str) -> bool {
    let rest = base_url.trim().strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host =
        host.rsplit_once(':').map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.")
}

/// The scope mapping for a server whose `serverInfo.name` is `child_name`.
fn scope_mapping(server: &ServerArgs, child_name: &str) -> ScopeMapping {
    match &server.scope_template {
        Some(template) => {
            ScopeMapping::template(template, server.server_name.clone().unwrap_or_else(|| child_name.to_owned()))
        }
        None => ScopeMapping::ToolName,
    }
}

fn child_command(command: &[String]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    cmd
}

/// rmcp's annotations in the gate's library-free form; `None` when the tool declared none.
fn annotations_of(tool: &rmcp::model::Tool) -> Option<allowly_mcp::ToolAnnotations> {
    tool.annotations.as_ref().map(|a| allowly_mcp::ToolAnnotations {
        read_only: a.read_only_hint,
        destructive: a.destructive_hint,
        idempotent: a.idempotent_hint,
        open_world: a.open_world_hint,
    })
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, argument)) if !field.is_empty() && !argument.is_empty() => {
            Ok((field.to_owned(), argument.to_owned()))
        }
        _ => Err(format!("expected FIELD=ARG, got `{text}`")),
    }
}
