//! `allowly mcp proxy`: an MCP server on our stdio that is a pass-through to an MCP server we spawn as a child.
//!
//! Both directions are wired as generic rmcp services rather than as a `ServerHandler` with one method per route:
//! a request the proxy does not know (a newer MCP method, a custom one) must still reach the other side unchanged.
//! Only `tools/call` (the gate, in `tool_call.rs`) and `tools/list` (annotations, optional hiding) are looked at.
//!
//! The child is spawned when the client sends `initialize`, with the client's own `initialize` parameters, so the
//! child sees the client's capabilities (elicitation, sampling, roots) and its requests back to the client can be
//! forwarded; the child's `initialize` result is what the client sees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use allowly_core::Client;
use allowly_mcp::{Gate, GateConfig, ScopeMapping, ToolAnnotations};
use rmcp::model::{
    ClientNotification, ClientRequest, ClientResult, Implementation, InitializeRequestParams, InitializeResult,
    ProgressToken, ServerNotification, ServerRequest, ServerResult, Tool,
};
use rmcp::service::{
    NotificationContext, PeerRequestOptions, RequestContext, RoleClient, RoleServer, RunningService, ServiceError,
};
use rmcp::transport::TokioChildProcess;
use rmcp::{ErrorData, Peer, Service, ServiceExt};

use super::{annotations_of, child_command};

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
    pub(super) gate: OnceLock<Gate>,
    upstream: OnceLock<Peer<RoleServer>>,
    child_peer: OnceLock<Peer<RoleClient>>,
    child: tokio::sync::Mutex<Option<RunningService<RoleClient, ChildSide>>>,
    /// Annotations of the child's tools, from its last `tools/list`.
    pub(super) tools: Mutex<HashMap<String, Option<ToolAnnotations>>>,
    /// Our progress token on the child connection → the client's token for the same request.
    progress: Mutex<HashMap<ProgressToken, ProgressToken>>,
}

impl Proxy {
    pub fn new(options: ProxyOptions) -> Proxy {
        Proxy(Arc::new(State {
            options,
            gate: OnceLock::new(),
            upstream: OnceLock::new(),
            child_peer: OnceLock::new(),
            child: tokio::sync::Mutex::new(None),
            tools: Mutex::new(HashMap::new()),
            progress: Mutex::new(HashMap::new()),
        }))
    }

    /// Serves MCP on our stdio until the client goes away, then stops the child.
    pub async fn run(self) -> Result<(), String> {
        let running =
            self.clone().serve(rmcp::transport::stdio()).await.map_err(|e| format!("MCP handshake failed: {e}"))?;
        let _ = running.waiting().await;
        if let Some(child) = self.0.child.lock().await.take() {
            let _ = child.cancel().await;
        }
        Ok(())
    }

    pub(super) fn gate(&self) -> Result<&Gate, ErrorData> {
        self.0.gate.get().ok_or_else(not_initialized)
    }

    fn child_peer(&self) -> Result<&Peer<RoleClient>, ErrorData> {
        self.0.child_peer.get().ok_or_else(not_initialized)
    }

    async fn initialize(
        &self,
        params: InitializeRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let _ = self.0.upstream.set(context.peer.clone());
        let mut slot = self.0.child.lock().await;
        if slot.is_none() {
            let command = child_command(&self.0.options.command);
            let transport = TokioChildProcess::builder(command)
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .map_err(|e| ErrorData::internal_error(format!("could not start the MCP server: {e}"), None))?
                .0;
            let side = ChildSide { proxy: self.0.clone(), info: params };
            let running = side
                .serve(transport)
                .await
                .map_err(|e| ErrorData::internal_error(format!("the MCP server did not initialize: {e}"), None))?;
            let _ = self.0.child_peer.set(running.peer().clone());
            *slot = Some(running);
        }
        let peer = self.child_peer()?;
        let info = peer.peer_info().ok_or_else(not_initialized)?;
        let server_info = info.server_info.clone().unwrap_or_else(|| Implementation::new("mcp-server", "unknown"));
        let _ = self.0.gate.set(self.build_gate(&server_info.name));
        let mut result = InitializeResult::new(info.capabilities.clone())
            .with_protocol_version(info.protocol_version.clone())
            .with_server_info(server_info);
        result.instructions = info.instructions.clone();
        result.meta = info.meta.clone();
        Ok(ServerResult::InitializeResult(result))
    }

    fn build_gate(&self, child_name: &str) -> Gate {
        let options = &self.0.options;
        let mut config = options.gate_config.clone();
        if let Some(template) = &options.scope_template {
            let server = options.server_name.clone().unwrap_or_else(|| child_name.to_owned());
            config = config.with_scope_mapping(ScopeMapping::template(template, server));
        }
        Gate::new(options.client.clone(), config)
    }

    /// Sends a request to the child as is (metadata included) and relays its answer, error or cancellation.
    pub(super) async fn forward(
        &self,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let peer = self.child_peer()?;
        let options = PeerRequestOptions::no_options().with_meta(context.meta.clone());
        let handle = peer.send_request_with_option(request, options).await.map_err(service_error)?;
        let ours = handle.progress_token.clone();
        if let Some(theirs) = context.meta.get_progress_token() {
            lock(&self.0.progress).insert(ours.clone(), theirs);
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
        lock(&self.0.progress).remove(&ours);
        result
    }

    /// Remembers the tools' annotations for the gate.
    pub(super) fn remember_tools(&self, tools: &[Tool]) {
        let mut cache = lock(&self.0.tools);
        for tool in tools {
            cache.insert(tool.name.to_string(), annotations_of(tool));
        }
    }
}

impl Service<RoleServer> for Proxy {
    async fn handle_request(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        match request {
            ClientRequest::InitializeRequest(request) => self.initialize(request.params, &context).await,
            ClientRequest::CallToolRequest(request) => self.call_tool(request, &context).await,
            ClientRequest::ListToolsRequest(request) => {
                self.list_tools(ClientRequest::ListToolsRequest(request), &context).await
            }
            other => self.forward(other, &context).await,
        }
    }

    async fn handle_notification(
        &self,
        notification: ClientNotification,
        _context: NotificationContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        match notification {
            // rmcp already sent the child its own `initialized`; cancellations arrive through `context.ct`.
            ClientNotification::InitializedNotification(_) | ClientNotification::CancelledNotification(_) => Ok(()),
            other => {
                if let Ok(peer) = self.child_peer() {
                    let _ = peer.send_notification(other).await;
                }
                Ok(())
            }
        }
    }

    fn get_info(&self) -> InitializeResult {
        // Only consulted before `initialize`, which answers with the child's own info.
        InitializeResult::new(Default::default())
            .with_server_info(Implementation::new("allowly-mcp-proxy", env!("CARGO_PKG_VERSION")))
    }
}

/// The client side (facing the child): relays the child's requests and notifications to the MCP client.
pub(super) struct ChildSide {
    proxy: Arc<State>,
    /// The MCP client's `initialize` parameters, presented to the child as ours.
    info: InitializeRequestParams,
}

impl Service<RoleClient> for ChildSide {
    async fn handle_request(
        &self,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, ErrorData> {
        let upstream = self.proxy.upstream.get().ok_or_else(not_initialized)?;
        let options = PeerRequestOptions::no_options().with_meta(context.meta.clone());
        let handle = upstream.send_request_with_option(request, options).await.map_err(service_error)?;
        handle.await_response().await.map_err(service_error)
    }

    async fn handle_notification(
        &self,
        notification: ServerNotification,
        _context: NotificationContext<RoleClient>,
    ) -> Result<(), ErrorData> {
        let Some(upstream) = self.proxy.upstream.get() else { return Ok(()) };
        let notification = match notification {
            ServerNotification::CancelledNotification(_) => return Ok(()),
            ServerNotification::ProgressNotification(mut progress) => {
                let mapped = lock(&self.proxy.progress).get(&progress.params.progress_token).cloned();
                let Some(theirs) = mapped else { return Ok(()) };
                progress.params.progress_token = theirs;
                ServerNotification::ProgressNotification(progress)
            }
            ServerNotification::ToolListChangedNotification(n) => {
                lock(&self.proxy.tools).clear();
                ServerNotification::ToolListChangedNotification(n)
            }
            other => other,
        };
        let _ = upstream.send_notification(notification).await;
        Ok(())
    }

    fn get_info(&self) -> InitializeRequestParams {
        self.info.clone()
    }
}

fn not_initialized() -> ErrorData {
    ErrorData::internal_error("the proxy has not been initialized yet (send `initialize` first)", None)
}

/// The child's JSON-RPC errors pass through unchanged; transport failures become internal errors.
fn service_error(error: ServiceError) -> ErrorData {
    match error {
        ServiceError::McpError(error) => error,
        other => ErrorData::internal_error(format!("MCP server: {other}"), None),
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
