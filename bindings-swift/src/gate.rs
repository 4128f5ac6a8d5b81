//! `NativeGate`: allowly-mcp's decision step (`Gate::step`) for the Swift and Kotlin MCP middlewares.
//!
//! The foreign middleware only moves values between its MCP framework and this object: the call (tool name, arguments
//! as JSON), the request's protocol version and client capabilities (JSON), the transport's principal, and a
//! 2026-07-28 retry in; a [`GateStep`] out, whose results are complete JSON documents built by allowly-mcp. Which era a
//! version is, whether the client can be asked, every text and every result shape stay in Rust, so Swift and Kotlin
//! answer the same words as the proxy, Python and Node.
//!
//! Identity follows core's one rule (`allowly_core::caller_identity`): by default the caller is the transport's
//! principal, passed per call. A host whose identity lookup is async awaits it in Swift/Kotlin and passes the answer
//! as that principal; a sync lookup can be given as an [`IdentityProvider`]. Reading it from a tool argument is an
//! explicit, single-user opt-in ([`GateIdentity::FromArguments`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use allowly_mcp::{
    ClientCapabilities, ElicitAnswer, Era, FailMode, Gate, GateConfig, IdentitySource, PendingConfirmation,
    RequestStateConfig, Retry, ScopeMapping, Step, StepInput, TransportAuth,
};
use serde_json::{Map, Value};

use crate::client::NativeClient;
use crate::error::{Result, invalid_input};

/// The refusal text of a call that arrived with no trusted identity (core's `NO_TRUSTED_IDENTITY_HELP`), for
/// documentation and tests; the gate puts it in the refusal itself.
#[uniffi::export]
pub fn mcp_no_trusted_identity_help() -> String {
    allowly_mcp::NO_TRUSTED_IDENTITY_HELP.to_owned()
}

/// Where the gate takes the caller's identity from.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum GateIdentity {
    /// The transport's authenticated principal, passed to each `step` (or the [`IdentityProvider`]'s answer). The
    /// default.
    Transport,
    /// One identity for every call: a single-user process (a stdio server started by its user).
    Process { identity: String },
    /// **Single-user servers only.** The string value of the top-level tool argument `argument`: the model writes the
    /// arguments, so on a server with several users any caller could name another.
    FromArguments { argument: String },
}

/// A server-side identity lookup (a session table, a claim of the validated token), implemented in Swift / Kotlin.
/// Called on the SDK's threads; it must not block for long (an async lookup belongs in the middleware, which passes
/// its answer as the principal). Throwing counts as "no identity": the call is refused.
#[uniffi::export(with_foreign)]
pub trait IdentityProvider: Send + Sync {
    fn identity(&self, auth: GateTransportAuth) -> std::result::Result<Option<String>, crate::error::AllowlyError>;
}

/// Maps a caller's identity to the authorization their agent holds; `None` = no authorization (the call is denied
/// without asking the server). Implemented in Swift / Kotlin; must not block for long.
#[uniffi::export(with_foreign)]
pub trait AuthorizationResolver: Send + Sync {
    fn authorization_for(&self, identity: String) -> Option<String>;
}

/// What the transport authenticated for one request; never anything the model wrote.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct GateTransportAuth {
    /// The authenticated principal (a token's subject); `None` on stdio or an unauthenticated transport.
    #[uniffi(default = None)]
    pub principal: Option<String>,
    /// The MCP session, when the transport has one.
    #[uniffi(default = None)]
    pub session_id: Option<String>,
    /// Further claims of the transport's credential, as a JSON object.
    #[uniffi(default = None)]
    pub claims_json: Option<String>,
}

/// How a gate is configured. Give exactly one of `authorization_id`, `authorizations` (non-empty) and
/// `authorization_resolver`.
#[derive(uniffi::Record)]
pub struct GateOptions {
    /// One authorization for every caller.
    #[uniffi(default = None)]
    pub authorization_id: Option<String>,
    /// Identity → authorization id; unknown identities have none.
    #[uniffi(default)]
    pub authorizations: HashMap<String, String>,
    #[uniffi(default = None)]
    pub authorization_resolver: Option<Arc<dyn AuthorizationResolver>>,
    /// `None`: [`GateIdentity::Transport`].
    #[uniffi(default = None)]
    pub identity: Option<GateIdentity>,
    /// A server-side lookup of the identity from the transport's auth (replaces `identity`'s Transport reading).
    #[uniffi(default = None)]
    pub identity_provider: Option<Arc<dyn IdentityProvider>>,
    /// `{server}` / `{tool}` template of the scope (`mcp.{server}.{tool}`); the tool name itself when absent.
    #[uniffi(default = None)]
    pub scope_template: Option<String>,
    #[uniffi(default = "")]
    pub server_name: String,
    /// Tool → scope, ahead of the template.
    #[uniffi(default)]
    pub scopes: HashMap<String, String>,
    /// Scopes allowed while the Allowly server is unreachable; every other scope fails closed.
    #[uniffi(default)]
    pub fail_open_scopes: Vec<String>,
    /// Context field → top-level argument copied into the check's context (and so into its receipt).
    #[uniffi(default)]
    pub context_fields: HashMap<String, String>,
    /// A top-level argument whose string value is the check's `resource`.
    #[uniffi(default = None)]
    pub resource_field: Option<String>,
    #[uniffi(default = false)]
    pub wait_for_signed_receipts: bool,
    /// The gate's name sealed into its 2026-07-28 `requestState` (a state opens only at a gate of this audience).
    #[uniffi(default = None)]
    pub request_state_audience: Option<String>,
    /// Longest a `requestState` stays valid (never past its confirmation).
    #[uniffi(default = None)]
    pub request_state_ttl: Option<Duration>,
}

/// One `tools/call` as the middleware received it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct GateCall {
    pub tool_name: String,
    /// The call's `arguments` as a JSON object (`None` when absent).
    #[uniffi(default = None)]
    pub arguments_json: Option<String>,
    /// The negotiated (2025-11-25) or per-request (2026-07-28) `protocolVersion`; the era is derived from it here.
    pub protocol_version: String,
    /// The client's capabilities object (from `initialize`, or the request's `_meta` on 2026-07-28) as JSON.
    #[uniffi(default = None)]
    pub client_capabilities_json: Option<String>,
    /// What the transport authenticated (`None`: nothing, e.g. stdio).
    #[uniffi(default = None)]
    pub auth: Option<GateTransportAuth>,
    /// An agent run or MCP session id, sent as the check's `session_id`.
    #[uniffi(default = None)]
    pub run_id: Option<String>,
    /// 2026-07-28 retry: the request's `requestState` (`None` on a first call).
    #[uniffi(default = None)]
    pub request_state: Option<String>,
    /// 2026-07-28 retry: the request's `inputResponses` as JSON.
    #[uniffi(default = None)]
    pub input_responses_json: Option<String>,
}

/// What the middleware does with the call. Every `*_json` is a complete document to hand to the framework as is.
#[derive(Debug, uniffi::Enum)]
pub enum GateStep {
    /// Run the tool; merge `meta_json` (an object) into its result's `_meta`.
    Run { receipt_ids: Vec<String>, meta_json: String },
    /// Do not run the tool; answer `result_json`, an `isError` CallToolResult.
    Refuse { result_json: String },
    /// 2025-11-25: push `elicitation/create` with `params_json`, then `answer_elicitation(pending, …)`.
    Elicit { params_json: String, pending: Arc<PendingElicitation> },
    /// 2026-07-28: answer the input-required result `result_json` (its parts also given apart).
    InputRequired { input_requests_json: String, request_state: String, result_json: String },
    /// Answer a JSON-RPC error instead of a result.
    ProtocolError { code: i32, message: String, data_json: Option<String> },
}

/// A 2025-11-25 confirmation waiting for the user's answer. It holds the confirmation's nonce, so it stays in this
/// process and shows nothing; it can be answered once.
#[derive(uniffi::Object)]
pub struct PendingElicitation {
    inner: Mutex<Option<PendingConfirmation>>,
}

impl std::fmt::Debug for PendingElicitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingElicitation(..)")
    }
}

/// The gate behind the Swift and Kotlin MCP middlewares. Share one per MCP server.
#[derive(uniffi::Object)]
pub struct NativeGate {
    gate: Gate,
}

#[uniffi::export(async_runtime = "tokio")]
impl NativeGate {
    /// Validates the options; sends nothing.
    #[uniffi::constructor]
    pub fn new(client: Arc<NativeClient>, options: GateOptions) -> Result<Arc<Self>> {
        Ok(Arc::new(NativeGate { gate: Gate::new(client.core().clone(), gate_config(options)?) }))
    }

    /// The scope a tool is checked against.
    pub fn scope_for(&self, tool_name: String) -> String {
        self.gate.scope_for(&tool_name)
    }

    /// Decides one `tools/call` (a first call or a 2026-07-28 retry). Errors only on malformed JSON input.
    pub async fn step(&self, call: GateCall) -> Result<GateStep> {
        let arguments = json_object("arguments_json", call.arguments_json.as_deref())?;
        let capabilities = parse_optional("client_capabilities_json", call.client_capabilities_json.as_deref())?;
        let auth = call.auth.unwrap_or_default();
        let claims = json_object("auth.claims_json", auth.claims_json.as_deref())?;
        let input_responses = parse_optional("input_responses_json", call.input_responses_json.as_deref())?;
        let mut input = StepInput::new(
            allowly_mcp::CallContext {
                arguments: arguments.as_ref(),
                run_id: call.run_id.as_deref(),
                ..allowly_mcp::CallContext::new(&call.tool_name)
            },
            Era::of_protocol_version(&call.protocol_version),
        );
        input.auth = TransportAuth {
            principal: auth.principal.as_deref(),
            claims: claims.as_ref(),
            session_id: auth.session_id.as_deref(),
        };
        input.capabilities = ClientCapabilities::from_capabilities(capabilities.as_ref());
        input.retry = call
            .request_state
            .as_deref()
            .map(|request_state| Retry { input_responses: input_responses.as_ref(), request_state });
        Ok(foreign_step(self.gate.step(input).await))
    }

    /// The second half of a 2025-11-25 confirmation: `elicit_result_json` is the client's ElicitResult
    /// (`{"action": …}`), or `None` when pushing the question failed. A pending confirmation answers once.
    pub async fn answer_elicitation(
        &self,
        pending: Arc<PendingElicitation>,
        elicit_result_json: Option<String>,
    ) -> Result<GateStep> {
        let taken = pending.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let Some(pending) = taken else {
            return Err(invalid_input("pending", "this confirmation was already answered"));
        };
        let result = parse_optional("elicit_result_json", elicit_result_json.as_deref())?;
        let answer = result.as_ref().and_then(ElicitAnswer::from_result).unwrap_or(ElicitAnswer::Failed);
        Ok(foreign_step(self.gate.answer_elicitation(pending, answer).await))
    }
}

fn gate_config(options: GateOptions) -> Result<GateConfig> {
    let GateOptions {
        authorization_id,
        authorizations,
        authorization_resolver,
        identity,
        identity_provider,
        scope_template,
        server_name,
        scopes,
        fail_open_scopes,
        context_fields,
        resource_field,
        wait_for_signed_receipts,
        request_state_audience,
        request_state_ttl,
    } = options;
    let given = [authorization_id.is_some(), !authorizations.is_empty(), authorization_resolver.is_some()];
    let mut config = match (authorization_id, authorization_resolver) {
        _ if given.into_iter().filter(|g| *g).count() != 1 => {
            return Err(invalid_input(
                "authorization",
                "give exactly one of authorization_id, authorizations and authorization_resolver",
            ));
        }
        (Some(id), _) => GateConfig::new(allowly_mcp::FixedAuthorization(id)),
        (None, Some(resolver)) => GateConfig::new(move |identity: Option<&str>| {
            identity.and_then(|identity| resolver.authorization_for(identity.to_owned()))
        }),
        (None, None) => GateConfig::new(allowly_mcp::AuthorizationTable(authorizations)),
    };
    config.identity = match (identity.unwrap_or(GateIdentity::Transport), identity_provider) {
        (GateIdentity::Transport, Some(provider)) => IdentitySource::callback(move |auth| {
            let claims = auth.claims.map(|c| Value::Object(c.clone()).to_string());
            let auth = GateTransportAuth {
                principal: auth.principal.map(str::to_owned),
                session_id: auth.session_id.map(str::to_owned),
                claims_json: claims,
            };
            provider.identity(auth).ok().flatten()
        }),
        (_, Some(_)) => {
            return Err(invalid_input("identity_provider", "an identity_provider goes with identity Transport"));
        }
        (GateIdentity::Transport, None) => IdentitySource::Transport,
        (GateIdentity::Process { identity }, None) => IdentitySource::Process(identity),
        (GateIdentity::FromArguments { argument }, None) => IdentitySource::identity_from_arguments(argument),
    };
    let otherwise = match scope_template {
        Some(template) => ScopeMapping::template(template, server_name),
        None => ScopeMapping::ToolName,
    };
    config.scope_for_tool =
        if scopes.is_empty() { otherwise } else { ScopeMapping::Map { scopes, otherwise: Box::new(otherwise) } };
    if !fail_open_scopes.is_empty() {
        config.fail_mode = FailMode::OpenFor(fail_open_scopes.into_iter().collect::<BTreeSet<_>>());
    }
    config.context_fields = context_fields.into_iter().collect();
    config.resource_field = resource_field;
    config.wait_for_signed_receipts = wait_for_signed_receipts;
    let mut request_state = RequestStateConfig::default();
    if let Some(audience) = request_state_audience {
        request_state.audience = audience;
    }
    if let Some(ttl) = request_state_ttl {
        request_state.ttl = ttl;
    }
    config.request_state = request_state;
    Ok(config)
}

fn foreign_step(step: Step) -> GateStep {
    match step {
        Step::Run { receipts, meta, .. } => {
            GateStep::Run { receipt_ids: receipts, meta_json: Value::Object(meta).to_string() }
        }
        Step::Refuse { result } => GateStep::Refuse { result_json: result.to_string() },
        Step::Elicit { params, pending } => GateStep::Elicit {
            params_json: params.to_string(),
            pending: Arc::new(PendingElicitation { inner: Mutex::new(Some(pending)) }),
        },
        Step::InputRequired { input_requests, request_state } => GateStep::InputRequired {
            result_json: Step::input_required_result(&input_requests, &request_state).to_string(),
            input_requests_json: input_requests.to_string(),
            request_state,
        },
        Step::ProtocolError { code, message, data } => {
            GateStep::ProtocolError { code, message, data_json: data.map(|d| d.to_string()) }
        }
    }
}

fn parse_optional(field: &str, text: Option<&str>) -> Result<Option<Value>> {
    text.map(|text| serde_json::from_str(text).map_err(|_| invalid_input(field, format!("{field} is not JSON"))))
        .transpose()
}

fn json_object(field: &str, text: Option<&str>) -> Result<Option<Map<String, Value>>> {
    match parse_optional(field, text)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(invalid_input(field, format!("{field} must be a JSON object"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> GateOptions {
        GateOptions {
            authorization_id: None,
            authorizations: HashMap::new(),
            authorization_resolver: None,
            identity: None,
            identity_provider: None,
            scope_template: None,
            server_name: String::new(),
            scopes: HashMap::new(),
            fail_open_scopes: Vec::new(),
            context_fields: HashMap::new(),
            resource_field: None,
            wait_for_signed_receipts: false,
            request_state_audience: None,
            request_state_ttl: None,
        }
    }

    struct Named;

    impl IdentityProvider for Named {
        fn identity(&self, auth: GateTransportAuth) -> std::result::Result<Option<String>, crate::error::AllowlyError> {
            Ok(auth.session_id)
        }
    }

    #[test]
    fn exactly_one_source_of_authorizations() {
        assert!(gate_config(options()).is_err());
        let both = GateOptions {
            authorization_id: Some("auth_1".into()),
            authorizations: HashMap::from([("alice".into(), "auth_2".into())]),
            ..options()
        };
        assert!(gate_config(both).is_err());
        let one = gate_config(GateOptions { authorization_id: Some("auth_1".into()), ..options() }).unwrap();
        assert_eq!(one.resolver.authorization_for(Some("anyone")).as_deref(), Some("auth_1"));
    }

    #[test]
    fn the_default_identity_is_the_transport_and_never_an_argument() {
        let config = gate_config(GateOptions { authorization_id: Some("auth_1".into()), ..options() }).unwrap();
        let arguments = serde_json::json!({"user_id": "mallory"});
        let arguments = arguments.as_object();
        assert_eq!(config.identity.resolve(&TransportAuth::default(), arguments), None);
        let auth = TransportAuth { principal: Some("alice"), ..Default::default() };
        assert_eq!(config.identity.resolve(&auth, arguments).as_deref(), Some("alice"));
    }

    #[test]
    fn an_identity_provider_maps_the_transport_and_goes_only_with_transport() {
        let provided = GateOptions {
            authorization_id: Some("auth_1".into()),
            identity_provider: Some(Arc::new(Named)),
            ..options()
        };
        let config = gate_config(provided).unwrap();
        let auth = TransportAuth { session_id: Some("s1"), ..Default::default() };
        assert_eq!(config.identity.resolve(&auth, None).as_deref(), Some("s1"));
        let mixed = GateOptions {
            authorization_id: Some("auth_1".into()),
            identity: Some(GateIdentity::Process { identity: "me".into() }),
            identity_provider: Some(Arc::new(Named)),
            ..options()
        };
        assert!(gate_config(mixed).is_err());
    }

    #[test]
    fn scopes_map_ahead_of_the_template() {
        let config = gate_config(GateOptions {
            authorization_id: Some("auth_1".into()),
            scope_template: Some("mcp.{server}.{tool}".into()),
            server_name: "notes".into(),
            scopes: HashMap::from([("send".into(), "email.send".into())]),
            ..options()
        })
        .unwrap();
        assert_eq!(config.scope_for_tool.scope_for("send"), "email.send");
        assert_eq!(config.scope_for_tool.scope_for("read"), "mcp.notes.read");
    }
}
