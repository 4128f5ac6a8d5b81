//! `NativeClient`: one `allowly_core::Client` per foreign `Allowly` instance; every method is one core call.
//!
//! Async methods run on tokio (the runtime core's reqwest client needs; UniFFI's `tokio` feature drives them) and
//! surface as `async` functions in Swift and `suspend` functions in Kotlin. The API key is a constructor argument,
//! not a record field, so no generated `toString` / `description` can ever show it, and it is never readable back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use allowly_core::client::FetchSignedOptions;
use allowly_core::model as core;
use allowly_core::{Client, ClientConfig};

use crate::agents::AgentCredential;
use crate::error::Result;
use crate::model::{
    Authorization, CheckRequest, CheckResponse, ConfirmNonce, ConfirmPrompt, Confirmation, ConfirmationMonitor,
    ConfirmationResolution, CreateAuthorizationRequest, EditionAuthorization, EditionAuthorizationRequest,
    EscalationMonitor, FallbackMode, Policy, PolicyPage, PolicyPreview, PolicyPublication, PolicyRef, ReceiptEnvelope,
    Revocation, Settlement, SignedReceipt, parse_json,
};
use crate::receipt::KeySet;

/// Core's duration defaults by parameter name (`allowly_core::client::DEFAULT_DURATIONS`): the Swift and Kotlin layers
/// read their default arguments from here instead of spelling them.
#[uniffi::export]
pub fn client_default_durations() -> HashMap<String, Duration> {
    allowly_core::client::DEFAULT_DURATIONS.iter().map(|(name, d)| ((*name).to_owned(), *d)).collect()
}

/// Client options; every field has core's default when absent.
#[derive(Clone, uniffi::Record)]
pub struct ClientOptions {
    /// Defaults to `https://api.allowly.ai`.
    #[uniffi(default = None)]
    pub base_url: Option<String>,
    /// Timeout of one HTTP attempt (default 10 s).
    #[uniffi(default = None)]
    pub timeout: Option<Duration>,
    /// Deadline of a whole `check`, retries included; past it `check` falls back (default 5 s).
    #[uniffi(default = None)]
    pub check_timeout: Option<Duration>,
    /// Extra attempts for transient failures (default 2).
    #[uniffi(default = None)]
    pub max_retries: Option<u32>,
    /// What `check` answers per scope when the server cannot; unlisted scopes fail closed.
    #[uniffi(default = None)]
    pub fallback_by_scope: Option<HashMap<String, FallbackMode>>,
    /// Allow `http://` base URLs (local development against `allowly serve --dev`).
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
    /// Appended to the `User-Agent` after `allowly-core/<version> allowly-uniffi/<version>`.
    #[uniffi(default = None)]
    pub user_agent: Option<String>,
    /// First retry backoff step (default 100 ms).
    #[uniffi(default = None)]
    pub retry_base_delay: Option<Duration>,
    /// An enrolled agent's credential: every check carries a fresh agent token signed from it (and an outage then
    /// falls back closed for every scope). An object, so no generated `toString` shows its key.
    #[uniffi(default = None)]
    pub agent_credential: Option<Arc<AgentCredential>>,
    /// A fixed agent token sent on every check (minted elsewhere; prefer `agent_credential`).
    #[uniffi(default = None)]
    pub agent_token: Option<String>,
    /// Asked for the agent token before every check (a token minted by another service, a vault, …). Give at most
    /// one of `agent_credential`, `agent_token` and `agent_token_supplier`.
    #[uniffi(default = None)]
    pub agent_token_supplier: Option<Arc<dyn AgentTokenSupplier>>,
}

/// Supplies the agent token of each check; implemented in Swift / Kotlin. It is called from the SDK's own threads
/// (not the caller's), once per check. Throwing fails that check with `Config` (`invalid_config`), whose message
/// names no detail of the failure, since a supplier's error may carry a secret.
#[uniffi::export(with_foreign)]
pub trait AgentTokenSupplier: Send + Sync {
    fn agent_token(&self) -> std::result::Result<String, crate::error::AllowlyError>;
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only what is safe to log: no token, no credential, no supplier.
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

fn build_client(api_key: String, options: ClientOptions) -> allowly_core::Result<Client> {
    let mut config = ClientConfig::new(api_key);
    if let Some(base_url) = options.base_url {
        config.base_url = base_url;
    }
    if let Some(t) = options.timeout {
        config.timeout = t;
    }
    if let Some(t) = options.check_timeout {
        config.check_timeout = t;
    }
    if let Some(n) = options.max_retries {
        config.max_retries = n;
    }
    for (scope, mode) in options.fallback_by_scope.unwrap_or_default() {
        config.fallback_by_scope.insert(scope, mode.into());
    }
    config.allow_insecure_http = options.allow_insecure_http;
    let ours = concat!("allowly-uniffi/", env!("CARGO_PKG_VERSION"));
    config.user_agent = Some(match options.user_agent {
        Some(extra) => format!("{ours} {extra}"),
        None => ours.to_owned(),
    });
    if let Some(d) = options.retry_base_delay {
        config.retry_base_delay = d;
    }
    let sources =
        [options.agent_token.is_some(), options.agent_credential.is_some(), options.agent_token_supplier.is_some()];
    if sources.into_iter().filter(|given| *given).count() > 1 {
        return Err(allowly_core::Error::Config {
            message: "give at most one of agent_credential, agent_token and agent_token_supplier".into(),
        });
    }
    if let Some(token) = options.agent_token {
        config = config.with_agent_token_supplier(move || Ok(token.clone()));
    }
    if let Some(supplier) = options.agent_token_supplier {
        config = config.with_agent_token_supplier(move || {
            supplier.agent_token().map_err(|_| "the Swift/Kotlin supplier threw".to_owned())
        });
    }
    if let Some(credential) = options.agent_credential {
        config = config.with_agent_credential(credential.inner.clone());
    }
    Client::new(config)
}

fn policy_request(
    policy_id: String,
    definition_json: &str,
    description: Option<String>,
    previous_policy_ref: Option<PolicyRef>,
    idempotency_key: Option<String>,
) -> Result<core::CreatePolicyRequest> {
    Ok(core::CreatePolicyRequest {
        policy_id,
        definition: parse_json("definition_json", definition_json)?,
        description,
        previous_policy_ref: previous_policy_ref.map(Into::into),
        idempotency_key,
    })
}

/// Asked by [`NativeClient::check_with_confirmation`] for every scope that needs the user's approval; answer `true`
/// to approve, `false` to reject. Implemented in Swift / Kotlin (an `async` / `suspend` function).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait ConfirmHandler: Send + Sync {
    async fn confirm(&self, prompt: ConfirmPrompt) -> bool;
}

/// The native client behind Swift's and Kotlin's `Allowly` class.
#[derive(uniffi::Object)]
pub struct NativeClient {
    client: Client,
}

impl NativeClient {
    /// The core client, for the admin methods (`admin.rs`).
    pub(crate) fn core(&self) -> &Client {
        &self.client
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl NativeClient {
    /// Validates the configuration (key shape, `https://` unless `allow_insecure_http`); sends nothing.
    #[uniffi::constructor]
    pub fn new(api_key: String, options: ClientOptions) -> Result<Arc<Self>> {
        Ok(Arc::new(NativeClient { client: build_client(api_key, options)? }))
    }

    /// The normalized base URL (never the key).
    pub fn base_url(&self) -> String {
        self.client.base_url().to_owned()
    }

    /// `POST /v1/setup/agents/{agent_id}/keys` (setup key): a key generated here, only its public half registered.
    pub async fn enroll_agent(&self, agent_id: String) -> Result<Arc<AgentCredential>> {
        Ok(Arc::new(AgentCredential { inner: self.client.enroll_agent(&agent_id).await? }))
    }

    pub async fn create_authorization(&self, request: CreateAuthorizationRequest) -> Result<Authorization> {
        Ok(self.client.create_authorization(&request.into_core()?).await?.into())
    }

    /// Grants a user a policy edition (the official 0.8.0 call shape).
    pub async fn create_edition_authorization(
        &self,
        request: EditionAuthorizationRequest,
    ) -> Result<EditionAuthorization> {
        Ok(self.client.create_edition_authorization(&request.into_core()?).await?.into())
    }

    /// The 0.8.0 monitor view of a confirmation (`GET /v1/confirmations/{id}/status`).
    pub async fn get_confirmation_status(&self, confirmation_id: String) -> Result<ConfirmationMonitor> {
        Ok(self.client.get_confirmation_status(&confirmation_id).await?.into())
    }

    /// The 0.8.0 monitor view of an escalation (`GET /v1/escalations/{id}`).
    pub async fn get_escalation_status(&self, escalation_id: String) -> Result<EscalationMonitor> {
        Ok(self.client.get_escalation_status(&escalation_id).await?.into())
    }

    /// `GET /readyz`: true when ready; a not-ready answer is false, not an error.
    pub async fn readiness(&self) -> Result<bool> {
        Ok(self.client.readiness().await?)
    }

    /// Creates the next edition of `policy_id`; the definition (JSON text) is validated locally before sending.
    pub async fn create_policy(
        &self,
        policy_id: String,
        definition_json: String,
        description: Option<String>,
        previous_policy_ref: Option<PolicyRef>,
        idempotency_key: Option<String>,
    ) -> Result<Policy> {
        let request = policy_request(policy_id, &definition_json, description, previous_policy_ref, idempotency_key)?;
        Ok(self.client.create_policy(&request).await?.into())
    }

    /// Publishes an edition and migrates the previous one's authorizations; the idempotency key is required.
    pub async fn publish_policy(
        &self,
        policy_id: String,
        definition_json: String,
        idempotency_key: String,
        description: Option<String>,
        previous_policy_ref: Option<PolicyRef>,
    ) -> Result<PolicyPublication> {
        let request =
            policy_request(policy_id, &definition_json, description, previous_policy_ref, Some(idempotency_key))?;
        Ok(self.client.publish_policy(&request).await?.into())
    }

    /// The newest edition of `policy_id`.
    pub async fn get_policy(&self, policy_id: String) -> Result<Policy> {
        Ok(self.client.get_policy(&policy_id).await?.into())
    }

    /// One page of policies; `limit` 1 to 100.
    pub async fn list_policies(&self, limit: Option<u32>, cursor: Option<String>) -> Result<PolicyPage> {
        Ok(self.client.list_policies(limit, cursor.as_deref()).await?.into())
    }

    pub async fn archive_policy(&self, policy_id: String, idempotency_key: Option<String>) -> Result<()> {
        Ok(self.client.archive_policy(&policy_id, idempotency_key.as_deref()).await?)
    }

    /// A provisional evaluation on the server, checked against the same evaluation made locally.
    pub async fn preview_policy(
        &self,
        definition_json: String,
        action: String,
        context_json: String,
    ) -> Result<PolicyPreview> {
        let context = match parse_json("context_json", &context_json)? {
            serde_json::Value::Object(map) => map,
            _ => return Err(crate::error::invalid_input("context_json", "context_json must be a JSON object")),
        };
        let request = core::PolicyPreviewRequest {
            definition: parse_json("definition_json", &definition_json)?,
            action,
            context,
        };
        Ok(self.client.preview_policy(&request).await?.into())
    }

    pub async fn get_authorization(&self, authorization_id: String) -> Result<Authorization> {
        Ok(self.client.get_authorization(&authorization_id).await?.into())
    }

    /// Idempotent on the server: revoking twice returns the first result.
    pub async fn revoke_authorization(
        &self,
        authorization_id: String,
        revoked_by: String,
        notes: Option<String>,
    ) -> Result<Revocation> {
        let request = core::RevokeRequest { revoked_by, notes };
        Ok(self.client.revoke_authorization(&authorization_id, &request).await?.into())
    }

    /// Fails closed: an unreachable or failing server yields deny `fallback_closed_*` results, not an error.
    pub async fn check(&self, request: CheckRequest) -> Result<CheckResponse> {
        Ok(self.client.check(&request.into_core()?).await?.into())
    }

    /// Records the user's answer to a `confirm` decision; `ttl` is how long it stays usable (server: 60 s … 7 days).
    pub async fn approve_confirmation(
        &self,
        nonce: Arc<ConfirmNonce>,
        approved: bool,
        ttl: Option<Duration>,
    ) -> Result<ConfirmationResolution> {
        Ok(self.client.approve_confirmation(&nonce.value, approved, ttl).await?.into())
    }

    pub async fn get_confirmation(&self, confirmation_id: String) -> Result<Confirmation> {
        Ok(self.client.get_confirmation(&confirmation_id).await?.into())
    }

    /// Polls until the confirmation is no longer pending; `Timeout` if nobody answered in time.
    pub async fn wait_for_confirmation(
        &self,
        confirmation_id: String,
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<Confirmation> {
        Ok(self.client.wait_for_confirmation(&confirmation_id, timeout, poll_interval).await?.into())
    }

    /// Replaces an allowed budgeted check's estimate with the actual cost; settling the same check twice is
    /// `Conflict` (`already_settled`).
    pub async fn settle_budget(&self, check_receipt_id: String, actual_cost_micros: i64) -> Result<Settlement> {
        let request = core::SettlementRequest::new(check_receipt_id, actual_cost_micros);
        Ok(self.client.settle_budget(&request).await?.into())
    }

    /// With `wait`, the server holds the request (at most 30 s) until the receipt is signed.
    pub async fn get_receipt(&self, receipt_id: String, wait: Option<Duration>) -> Result<ReceiptEnvelope> {
        Ok(self.client.get_receipt(&receipt_id, wait).await?.into())
    }

    /// Polls until the receipt is signed and returns its exact JSON text, ready for `verify_receipt_json`.
    pub async fn fetch_signed(
        &self,
        receipt_id: String,
        poll_interval: Duration,
        timeout: Duration,
    ) -> Result<SignedReceipt> {
        let options = FetchSignedOptions { poll_interval, timeout };
        Ok(self.client.fetch_signed(&receipt_id, options).await?.into())
    }

    /// The workspace's key document, loaded with the strict key-document parser.
    pub async fn workspace_keys(&self, workspace_id: String) -> Result<Arc<KeySet>> {
        let text = self.client.workspace_keys_json(&workspace_id).await?;
        crate::receipt::load_keys_from_json(text)
    }

    /// Check; ask `handler` for every `confirm` scope and approve or reject its nonce; then, if anyone was asked,
    /// check once more and return that (core's `check_with_confirmation`).
    pub async fn check_with_confirmation(
        &self,
        request: CheckRequest,
        handler: Arc<dyn ConfirmHandler>,
    ) -> Result<CheckResponse> {
        let request = request.into_core()?;
        let response = self
            .client
            .check_with_confirmation(&request, |prompt| {
                let handler = Arc::clone(&handler);
                async move { handler.confirm(prompt.into()).await }
            })
            .await?;
        Ok(response.into())
    }
}
