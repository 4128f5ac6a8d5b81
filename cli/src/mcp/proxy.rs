//! `allowly mcp proxy`: an MCP server on our stdio that is a pass-through to an MCP server we spawn as a child.
//!
//! Both directions are wired as generic rmcp services rather than as a `ServerHandler` with one method per route:
//! a request the proxy does not know (a newer MCP method, a custom one) must still reach the other side unchanged.
//! Only `tools/call` (the gate, in `tool_call.rs`), `tools/list` (annotations, optional hiding), `initialize` and
//! `server/discover` (the child's own description) are looked at.
//!
//! The client may speak either MCP era: 2025-11-25 (`initialize`, then a session) or 2026-07-28 (no `initialize`,
//! `server/discover`, every request carrying its protocol version and capabilities in `_meta`). So the child is
//! started at launch, before any client request, on a connection of our own (`child.rs`), and the gate is built then
//! from the child's name; both eras are answered from that one connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use allowly_core::Client;
use allowly_mcp::{Gate, GateConfig, ScopeMapping, ToolAnnotations};
use rmcp::model::{
    ClientNotification, ClientRequest, DiscoverResult, Implementation, InitializeResult, ProgressToken,
    ProtocolVersion, ServerCapabilities, ServerPeerInfo, ServerResult, Tool,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RequestContext, RoleClient, RoleServer, RunningService};
use rmcp::{ErrorData, Peer, Service, ServiceExt};

use super::annotations_of;
use super::child::{ChildSide, child_meta, service_error};

/// What the command line configured.
pub struct ProxyOptions {
    pub client: Client,
    /// Scope mapping, fail mode, context fields; the template's `{server}` is filled in once the child named itself.
    pub gate_config: GateConfig,
    pub scope_template: Option<String>,
    pub server_name: Option<String>,
    pub authorization_id: String,
    pub hide_ungranted: bool,
    pub command: Vec<String>,
}

/// The server side (facing the MCP client). Cheap to clone: all state is shared.
#[derive(Clone)]
pub struct Proxy(pub(super) Arc<State>);

pub(super) struct State {
    pub(super) options: ProxyOptions,
    pub(super) gate: Gate,
    pub(super) shared: Arc<Shared>,
    pub(super) child_peer: Peer<RoleClient>,
    child: tokio::sync::Mutex<Option<RunningService<RoleClient, ChildSide>>>,
}

/// What the two sides share.
#[derive(Default)]
pub(super) struct Shared {
    /// The client's session, from its first request after `discover`: where the child's notifications go and, on
    /// 2025-11-25, its requests.
    pub(super) upstream: std::sync::OnceLock<Peer<RoleServer>>,
    /// Annotations of the child's tools, from its last `tools/list`.
    pub(super) tools: Mutex<HashMap<String, Option<ToolAnnotations>>>,
    /// Our progress token on the child connection → the client's token for the same request.
    pub(super) progress: Mutex<HashMap<ProgressToken, ProgressToken>>,
}

impl Proxy {
    /// Starts the child and connects to it; the gate's `{server}` is the child's name.
    pub async fn launch(options: ProxyOptions) -> Result<Proxy, String> {
        let shared = Arc::new(Shared::default());
        let child = super::child::connect(&options.command, shared.clone()).await?;
        let child_peer = child.peer().clone();
        let child_name = child_peer.peer_info().and_then(|info| info.server_info.clone()).map(|s| s.name);
        let gate = build_gate(&options, child_name.as_deref().unwrap_or("mcp-server"));
        Ok(Proxy(Arc::new(State { options, gate, shared, child_peer, child: tokio::sync::Mutex::new(Some(child)) })))
    }

    /// Serves MCP on our stdio until the client goes away, then stops the child.
    pub async fn run(self) -> Result<(), String> {
        let served = self.clone().serve(rmcp::transport::stdio()).await;
        let result = match served {
            Ok(running) => {
                let _ = running.waiting().await;
                Ok(())
            }
            Err(e) => Err(format!("MCP handshake failed: {e}")),
        };
        if let Some(child) = self.0.child.lock().await.take() {
            let _ = child.cancel().await;
        }
        result
    }

    pub(super) fn gate(&self) -> &Gate {
        &self.0.gate
    }

    /// What the child said about itself (at `initialize` or `server/discover`).
    fn child_info(&self) -> ServerPeerInfo {
        self.0
            .child_peer
            .peer_info()
            .map(|info| (*info).clone())
            .unwrap_or_else(|| ServerPeerInfo::new(ProtocolVersion::V_2025_11_25, ServerCapabilities::default()))
    }

    /// A 2025-11-25 client: the child's own description, as if it had answered.
    fn initialize(&self) -> ServerResult {
        let info = self.child_info();
        let server_info = info.server_info.clone().unwrap_or_else(|| Implementation::new("mcp-server", "unknown"));
        let mut result = InitializeResult::new(info.capabilities).with_server_info(server_info);
        result.instructions = info.instructions;
        ServerResult::InitializeResult(result)
    }

    /// A 2026-07-28 client: the child's capabilities and name, with the versions this proxy speaks to the client
    /// (both eras, whatever the child speaks: the proxy answers each request in the client's era).
    fn discover(&self) -> ServerResult {
        let info = self.child_info();
        let mut result = DiscoverResult::new(self.supported_protocol_versions().into_owned(), info.capabilities);
        result.instructions = info.instructions;
        if let Some(server_info) = info.server_info {
            result.set_server_info(server_info);
        }
        ServerResult::DiscoverResult(result)
    }

    /// Sends a request to the child (metadata included, in the client's era) and relays its answer, error or
    /// cancellation.
    pub(super) async fn forward(
        &self,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let peer = &self.0.child_peer;
        let options = PeerRequestOptions::no_options().with_meta(child_meta(peer, context));
        let handle = peer.send_request_with_option(request, options).await.map_err(service_error)?;
        let ours = handle.progress_token.clone();
        if let Some(theirs) = context.meta.get_progress_token() {
            lock(&self.0.shared.progress).insert(ours.clone(), theirs);
        }
        let request_id = handle.id.clone();
        let result = tokio::select! {
            result = handle.await_response() => result.map_err(service_error),
            () = context.ct.cancelled() => {
                let cancel = serde_json::json!({"requestId": request_id, "reason": "cancelled by the client"});
                if let Ok(param) = serde_json::from_value(cancel) {
                    let _ = peer.notify_cancelled(param).await;
                }
                Err(ErrorData::internal_error("cancelled by the client", None))
            }
        };
        lock(&self.0.shared.progress).remove(&ours);
        result
    }

    /// Remembers the tools' annotations for the gate.
    pub(super) fn remember_tools(&self, tools: &[Tool]) {
        let mut cache = lock(&self.0.shared.tools);
        for tool in tools {
            cache.insert(tool.name.to_string(), annotations_of(tool));
        }
    }
}

fn build_gate(options: &ProxyOptions, child_name: &str) -> Gate {
    let mut config = options.gate_config.clone();
    if let Some(template) = &options.scope_template {
        let server = options.server_name.clone().unwrap_or_else(|| child_name.to_owned());
        config = config.with_scope_mapping(ScopeMapping::template(template, server));
    }
    Gate::new(options.client.clone(), config)
}

impl Service<RoleServer> for Proxy {
    async fn handle_request(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let legacy = super::era_of(&context) == allowly_mcp::Era::Legacy2025_11_25;
        if !matches!(request, ClientRequest::DiscoverRequest(_)) {
            // Where the child's notifications go (and, on 2025-11-25, its requests): `discover` may come before any
            // session exists, with a peer that cannot reach the client.
            let _ = self.0.shared.upstream.set(context.peer.clone());
        }
        let mut result = match request {
            ClientRequest::InitializeRequest(_) => Ok(self.initialize()),
            ClientRequest::DiscoverRequest(_) => Ok(self.discover()),
            ClientRequest::CallToolRequest(request) => self.call_tool(request, &context).await,
            ClientRequest::ListToolsRequest(request) => {
                self.list_tools(ClientRequest::ListToolsRequest(request), &context).await
            }
            other => self.forward(other, &context).await,
        }?;
        // A child on the new era marks its results `resultType: "complete"`; an old-era client knows no such field.
        if legacy {
            result.strip_result_type_for_legacy_peer();
            result.strip_non_object_output_for_legacy_peer();
        }
        Ok(result)
    }

    async fn handle_notification(
        &self,
        notification: ClientNotification,
        _context: NotificationContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        match notification {
            // The child got its own `initialized` from us; cancellations arrive through `context.ct`.
            ClientNotification::InitializedNotification(_) | ClientNotification::CancelledNotification(_) => Ok(()),
            other => {
                let _ = self.0.child_peer.send_notification(other).await;
                Ok(())
            }
        }
    }

    fn get_info(&self) -> InitializeResult {
        // Not consulted: `initialize` is answered with the child's own info.
        InitializeResult::new(Default::default())
            .with_server_info(Implementation::new("allowly-mcp-proxy", env!("CARGO_PKG_VERSION")))
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
