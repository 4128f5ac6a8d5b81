//! The proxy's own client connection to the child MCP server, opened at launch.
//!
//! The child is asked for the new era first (`server/discover`) and falls back to `initialize` (2025-11-25) when it
//! does not know it (rmcp's auto lifecycle). Toward the child the proxy declares what it can relay to a client —
//! form elicitation and sampling — and on every forwarded request the client's own: a 2026-07-28 request carries the
//! client's `_meta` (protocol version, capabilities) through unchanged, and a 2025-11-25 request carries the
//! capabilities the client declared at `initialize`, so the child never asks for what the client cannot answer.
//!
//! On a 2025-11-25 child connection the child may push requests (elicitation, sampling, roots): they are relayed to
//! the 2025-11-25 client. A 2026-07-28 child cannot push; its `input_required` answers are handled in `tool_call.rs`.

use std::sync::Arc;

use rmcp::model::{
    ClientCapabilities, ClientConfig, ClientResult, Implementation, ProtocolVersion, RequestMetaObject,
    ServerNotification, ServerRequest,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, NotificationContext, PeerRequestOptions, RequestContext, RoleClient,
    RoleServer, RunningService, ServiceError,
};
use rmcp::transport::TokioChildProcess;
use rmcp::{ErrorData, Peer, Service};

use super::proxy::{Shared, lock};

/// The `_meta` keys that put a request on the 2026-07-28 era.
const ENVELOPE_KEYS: [&str; 3] = [
    "io.modelcontextprotocol/protocolVersion",
    "io.modelcontextprotocol/clientInfo",
    "io.modelcontextprotocol/clientCapabilities",
];

/// Starts COMMAND and opens the proxy's connection to it: the new era when the child speaks it, else `initialize`.
///
/// rmcp falls back by itself when the child does not know `server/discover`, but a child that knows it and refuses
/// every new-era version fails the probe; such a child is started again, fresh, for `initialize` (no client request
/// has been read yet, so nothing is lost).
pub(super) async fn connect(
    command: &[String],
    shared: Arc<Shared>,
) -> Result<RunningService<RoleClient, ChildSide>, String> {
    let auto = ClientLifecycleMode::Auto {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        legacy_version: Some(ProtocolVersion::V_2025_11_25),
    };
    match start(command, shared.clone(), auto).await {
        Ok(running) => Ok(running),
        Err(probe) => start(command, shared, ClientLifecycleMode::Initialize)
            .await
            .map_err(|initialize| format!("{initialize} (after the new-era probe failed: {probe})")),
    }
}

async fn start(
    command: &[String],
    shared: Arc<Shared>,
    lifecycle: ClientLifecycleMode,
) -> Result<RunningService<RoleClient, ChildSide>, String> {
    let mut cmd = tokio::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    let transport = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start the MCP server {}: {e}", command[0]))?
        .0;
    ChildSide { shared }
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .map_err(|e| format!("the MCP server did not start a session: {e}"))
}

/// The `_meta` a client request is forwarded with, in the era the child connection speaks.
pub(super) fn child_meta(child: &Peer<RoleClient>, context: &RequestContext<RoleServer>) -> RequestMetaObject {
    let mut meta = context.meta.clone();
    let child_is_legacy = child.peer_info().is_none_or(|info| info.protocol_version.has_initialize());
    if child_is_legacy {
        // A 2025-11-25 child refuses the new era's envelope; its session already knows our capabilities.
        for key in ENVELOPE_KEYS {
            meta.remove(key);
        }
    } else if meta.protocol_version().is_none() {
        // A 2025-11-25 client on a 2026-07-28 child: the child sees the capabilities the client declared.
        let capabilities = context.peer.peer_info().map(|info| info.capabilities.clone()).unwrap_or_default();
        meta.set_client_capabilities(capabilities);
    }
    meta
}

/// The client side (facing the child): relays the child's requests and notifications to the MCP client.
pub(super) struct ChildSide {
    shared: Arc<Shared>,
}

impl Service<RoleClient> for ChildSide {
    async fn handle_request(
        &self,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, ErrorData> {
        let Some(upstream) = self.shared.upstream.get() else {
            return Err(ErrorData::invalid_request("no MCP client is connected to allowly mcp proxy yet", None));
        };
        let options = PeerRequestOptions::no_options().with_meta(context.meta.clone());
        let handle = upstream.send_request_with_option(request, options).await.map_err(service_error)?;
        handle.await_response().await.map_err(service_error)
    }

    async fn handle_notification(
        &self,
        notification: ServerNotification,
        _context: NotificationContext<RoleClient>,
    ) -> Result<(), ErrorData> {
        let Some(upstream) = self.shared.upstream.get() else { return Ok(()) };
        let notification = match notification {
            ServerNotification::CancelledNotification(_) => return Ok(()),
            ServerNotification::ProgressNotification(mut progress) => {
                let mapped = lock(&self.shared.progress).get(&progress.params.progress_token).cloned();
                let Some(theirs) = mapped else { return Ok(()) };
                progress.params.progress_token = theirs;
                ServerNotification::ProgressNotification(progress)
            }
            ServerNotification::ToolListChangedNotification(n) => {
                lock(&self.shared.tools).clear();
                ServerNotification::ToolListChangedNotification(n)
            }
            other => other,
        };
        let _ = upstream.send_notification(notification).await;
        Ok(())
    }

    // Sampling is deprecated (SEP-2577), but 2025-11-25 servers still ask for it and the proxy relays it.
    #[allow(deprecated)]
    fn get_info(&self) -> ClientConfig {
        let capabilities = ClientCapabilities::builder().enable_elicitation().enable_sampling().build();
        ClientConfig::new(capabilities, Implementation::new("allowly-mcp-proxy", env!("CARGO_PKG_VERSION")))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }
}

/// The child's JSON-RPC errors pass through unchanged; transport failures become internal errors.
pub(super) fn service_error(error: ServiceError) -> ErrorData {
    match error {
        ServiceError::McpError(error) => error,
        other => ErrorData::internal_error(format!("MCP server: {other}"), None),
    }
}
