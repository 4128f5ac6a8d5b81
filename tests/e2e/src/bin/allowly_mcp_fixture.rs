//! Test fixture for `allowly mcp proxy` / `authorize`: a minimal MCP server over stdio. Not shipped as a product.
//!
//! Three tools, one per kind of annotation the gate cares about: `read_note` (read-only), `delete_note`
//! (destructive) and `touch_note` (no annotations at all). Every call that reaches a tool body appends one line
//! `TOOL ARGUMENTS-JSON` to the file named by `ALLOWLY_MCP_FIXTURE_LOG`, so a test can prove that a denied call never
//! ran here.

use std::borrow::Cow;
use std::io::Write;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::{Map, Value, json};

struct Notes;

fn schema() -> Map<String, Value> {
    let schema = json!({"type": "object", "properties": {"note_id": {"type": "string"}}});
    schema.as_object().cloned().unwrap_or_default()
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::new("read_note", "Read a note", schema()).with_annotations(ToolAnnotations::new().read_only(true)),
        Tool::new("delete_note", "Delete a note", schema())
            .with_annotations(ToolAnnotations::new().read_only(false).destructive(true)),
        Tool::new("touch_note", "Update a note's timestamp", schema()),
    ]
}

/// Appends the call to the log before answering: the record is the proof that the tool body ran.
fn record(tool: &str, arguments: &Option<Map<String, Value>>) {
    let Some(path) = std::env::var_os("ALLOWLY_MCP_FIXTURE_LOG") else { return };
    let line = format!("{tool} {}\n", Value::Object(arguments.clone().unwrap_or_default()));
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("fixture log is writable");
    file.write_all(line.as_bytes()).expect("fixture log write");
}

impl ServerHandler for Notes {
    /// `ALLOWLY_MCP_FIXTURE_LEGACY=1`: a server that speaks MCP 2025-11-25 at most, as servers written before
    /// 2026-07-28 do.
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        if std::env::var_os("ALLOWLY_MCP_FIXTURE_LEGACY").is_some() {
            Cow::Borrowed(ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25))
        } else {
            Cow::Borrowed(ProtocolVersion::KNOWN_VERSIONS)
        }
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("notes", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.as_ref();
        if !tools().iter().any(|t| t.name == name) {
            return Err(ErrorData::invalid_params(format!("unknown tool {name}"), None));
        }
        record(name, &request.arguments);
        let note = request.arguments.as_ref().and_then(|a| a.get("note_id")).and_then(Value::as_str).unwrap_or("-");
        let text = format!("{name} ran for note {note}");
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A client may leave before any session starts (the proxy connects at launch and may never forward a request):
    // nothing to serve then.
    let Ok(service) = Notes.serve(rmcp::transport::stdio()).await else { return };
    let _ = service.waiting().await;
}
