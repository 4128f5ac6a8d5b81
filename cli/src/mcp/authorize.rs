//! `allowly mcp authorize`: propose-and-create an authorization from what an MCP server says about its tools.
//!
//! Annotations are hints from the server author, so they only decide how cautious the grant is, never whether a tool
//! is left out: the user can still revoke. Unknown means cautious (`GrantKind::for_tool`).

use allowly_core::model::CreateAuthorizationRequest;
use allowly_mcp::GrantKind;
use rmcp::ServiceExt;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::transport::TokioChildProcess;

use super::{AuthorizeArgs, annotations_of, child_command, client, scope_mapping};

pub async fn run(args: AuthorizeArgs) -> Result<(), String> {
    let api = client(&args.server.base_url)?;
    let transport = TokioChildProcess::builder(child_command(&args.command))
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", args.command[0]))?
        .0;
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("allowly-mcp-authorize", env!("CARGO_PKG_VERSION")),
    );
    let session = info.serve(transport).await.map_err(|e| format!("the MCP server did not initialize: {e}"))?;
    let child_name = session.peer_info().and_then(|i| i.server_info.clone()).map(|s| s.name).unwrap_or_default();
    let tools = session.list_all_tools().await.map_err(|e| format!("tools/list failed: {e}"));
    let _ = session.cancel().await;
    let tools = tools?;
    if tools.is_empty() {
        return Err("the MCP server lists no tools; nothing to authorize".into());
    }

    let mapping = scope_mapping(&args.server, &child_name);
    let mut scopes = Vec::new();
    let mut confirm = Vec::new();
    for tool in &tools {
        let scope = mapping.scope_for(&tool.name);
        let kind = GrantKind::for_tool(annotations_of(tool).as_ref());
        eprintln!("  {scope}: {}", if kind == GrantKind::Plain { "granted" } else { "granted, needs confirmation" });
        if kind == GrantKind::Confirm {
            confirm.push(scope.clone());
        }
        scopes.push(scope);
    }
    let request =
        CreateAuthorizationRequest::new(args.user_id, args.agent_id, scopes).with_requires_confirm_for(confirm);
    let authorization = api.create_authorization(&request).await.map_err(|e| e.to_string())?;
    println!("{}", authorization.authorization_id);
    Ok(())
}
