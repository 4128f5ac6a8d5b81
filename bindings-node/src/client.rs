//! `NativeClient`: one `allowly_core::Client` per JS `Allowly` instance; every method is one core call.
//!
//! Async methods run on napi's tokio runtime (the runtime core's reqwest client needs) and resolve their Promise on
//! the JS thread. The API key goes into core's config and is never readable back from JS.

use std::collections::HashMap;
use std::time::Duration;

use allowly_core::client::FetchSignedOptions;
use allowly_core::model as core;
use allowly_core::{Client, ClientConfig, Error, FallbackMode};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::IntoNapi;
use crate::model::{
    ApproveOptions, Authorization, CheckRequest, CheckResponse, Confirmation, ConfirmationMonitor,
    ConfirmationResolution, CreateAuthorizationRequest, CreatePolicyRequest, EditionAuthorization,
    EditionAuthorizationRequest, EscalationMonitor, ListPoliciesOptions, Policy, PolicyPage, PolicyPreview,
    PolicyPreviewRequest, PolicyPublication, ReceiptEnvelope, Revocation, RevokeOptions, Settlement, SettlementRequest,
    SignedReceipt,
};
use crate::receipt::KeySet;

/// Options of `new Allowly(...)`. Durations are milliseconds, as everywhere in Node.
#[napi(object)]
pub struct ClientOptions {
    /// A runtime (`allowly_rt_…`) or setup key. Never logged or shown.
    pub api_key: String,
    /// Defaults to `https://api.allowly.ai`.
    pub base_url: Option<String>,
    /// Timeout of one HTTP attempt (default 10 000).
    pub timeout_ms: Option<u32>,
    /// Deadline of a whole `check`, retries included; past it `check` falls back (default 5 000).
    pub check_timeout_ms: Option<u32>,
    /// Extra attempts for transient failures (default 2).
    pub max_retries: Option<u32>,
    /// What `check` answers per scope when the server cannot; unlisted scopes fail closed.
    #[napi(ts_type = "Record<string, 'open' | 'closed'>")]
    pub fallback_by_scope: Option<HashMap<String, String>>,
    /// Allow `http://` base URLs (local development against `allowly serve --dev`).
    pub allow_insecure_http: Option<bool>,
    /// Appended to the `User-Agent` after `allowly-core/<version> allowly-node/<version>`.
    pub user_agent: Option<String>,
    /// First retry backoff step (default 100).
    pub retry_base_delay_ms: Option<u32>,
    /// An enrolled agent's credential file text: every check then carries a fresh agent token signed from it (and an
    /// outage never falls back open).
    pub agent_credential_json: Option<String>,
    /// A fixed agent token sent on every check (a token minted elsewhere; prefer `agentCredentialJson`).
    pub agent_token: Option<String>,
}

pub(crate) fn ms(value: u32) -> Duration {
    Duration::from_millis(u64::from(value))
}

fn fallback_mode(scope: &str, mode: &str) -> allowly_core::Result<FallbackMode> {
    match mode {
        "open" => Ok(FallbackMode::Open),
        "closed" => Ok(FallbackMode::Closed),
        other => Err(Error::Config {
            message: format!("fallbackByScope[{scope:?}] must be \"open\" or \"closed\", not {other:?}"),
        }),
    }
}

impl ClientOptions {
    pub(crate) fn into_client(self) -> allowly_core::Result<Client> {
        let mut config = ClientConfig::new(self.api_key);
        if let Some(base_url) = self.base_url {
            config.base_url = base_url;
        }
        if let Some(t) = self.timeout_ms {
            config.timeout = ms(t);
        }
        if let Some(t) = self.check_timeout_ms {
            config.check_timeout = ms(t);
        }
        if let Some(n) = self.max_retries {
            config.max_retries = n;
        }
        for (scope, mode) in self.fallback_by_scope.unwrap_or_default() {
            let mode = fallback_mode(&scope, &mode)?;
            config.fallback_by_scope.insert(scope, mode);
        }
        config.allow_insecure_http = self.allow_insecure_http.unwrap_or(false);
        let node = concat!("allowly-node/", env!("CARGO_PKG_VERSION"));
        config.user_agent = Some(match self.user_agent {
            Some(extra) => format!("{node} {extra}"),
            None => node.to_owned(),
        });
        if let Some(d) = self.retry_base_delay_ms {
            config.retry_base_delay = ms(d);
        }
        if let Some(token) = self.agent_token {
            config = config.with_agent_token_supplier(move || Ok(token.clone()));
        }
        if let Some(text) = self.agent_credential_json {
            config = config.with_agent_credential(allowly_core::agent_identity::AgentCredential::from_json(&text)?);
        }
        Client::new(config)
    }
}

#[napi(object)]
pub struct FetchSignedOpts {
    /// Pause between two pending answers (default 1 000).
    pub poll_interval_ms: Option<u32>,
    /// Give up with a `TimeoutError` after this long (default 30 000).
    pub timeout_ms: Option<u32>,
}

#[napi(object)]
pub struct WaitOptions {
    pub timeout_ms: Option<u32>,
    pub poll_interval_ms: Option<u32>,
}

/// The native client behind the JS `Allowly` class.
#[napi]
pub struct NativeClient {
    pub(crate) client: Client,
}

#[napi]
impl NativeClient {
    #[napi(constructor)]
    pub fn new(options: ClientOptions) -> Result<Self> {
        Ok(NativeClient { client: options.into_client().napi()? })
    }

    /// The normalized base URL (never the key).
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.client.base_url().to_owned()
    }

    #[napi]
    pub async fn create_authorization(&self, request: CreateAuthorizationRequest) -> Result<Authorization> {
        let request: core::CreateAuthorizationRequest = request.into();
        self.client.create_authorization(&request).await.map(Into::into).napi()
    }

    /// Grants a user a policy edition (the official 0.8.0 call shape).
    #[napi]
    pub async fn create_edition_authorization(
        &self,
        request: EditionAuthorizationRequest,
    ) -> Result<EditionAuthorization> {
        let request: core::CreateEditionAuthorizationRequest = request.into();
        self.client.create_edition_authorization(&request).await.map(Into::into).napi()
    }

    /// `POST /v1/setup/agents/{agentId}/keys` (setup key): a key generated here, only its public half registered.
    #[napi]
    pub async fn enroll_agent(&self, agent_id: String) -> Result<crate::agents::AgentCredential> {
        self.client.enroll_agent(&agent_id).await.map(|inner| crate::agents::AgentCredential { inner }).napi()
    }

    #[napi]
    pub async fn get_authorization(&self, authorization_id: String) -> Result<Authorization> {
        self.client.get_authorization(&authorization_id).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn revoke_authorization(&self, authorization_id: String, options: RevokeOptions) -> Result<Revocation> {
        let request: core::RevokeRequest = options.into();
        self.client.revoke_authorization(&authorization_id, &request).await.map(Into::into).napi()
    }

    /// Fails closed: an unreachable or failing server yields deny `fallback_closed_*` results, not an error.
    #[napi]
    pub async fn check(&self, request: CheckRequest) -> Result<CheckResponse> {
        let request: core::CheckRequest = request.into();
        self.client.check(&request).await.map(Into::into).napi()
    }

    /// `check` with this call's agent token (the JS layer's `agentTokenSupplier` answer) instead of the configured one.
    #[napi]
    pub async fn check_with_agent_token(&self, request: CheckRequest, agent_token: String) -> Result<CheckResponse> {
        let request: core::CheckRequest = request.into();
        self.client.check_with_agent_token(&request, Some(agent_token)).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn approve_confirmation(
        &self,
        confirm_nonce: String,
        options: ApproveOptions,
    ) -> Result<ConfirmationResolution> {
        let ttl = options.ttl_seconds.map(|s| Duration::from_secs(u64::from(s)));
        self.client.approve_confirmation(&confirm_nonce, options.approved, ttl).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn get_confirmation(&self, confirmation_id: String) -> Result<Confirmation> {
        self.client.get_confirmation(&confirmation_id).await.map(Into::into).napi()
    }

    /// The 0.8.0 monitor view (`GET /v1/confirmations/{id}/status`).
    #[napi]
    pub async fn get_confirmation_status(&self, confirmation_id: String) -> Result<ConfirmationMonitor> {
        self.client.get_confirmation_status(&confirmation_id).await.map(Into::into).napi()
    }

    /// The 0.8.0 monitor view of an escalation (`GET /v1/escalations/{id}`).
    #[napi]
    pub async fn get_escalation_status(&self, escalation_id: String) -> Result<EscalationMonitor> {
        self.client.get_escalation_status(&escalation_id).await.map(Into::into).napi()
    }

    /// `GET /readyz`: true when ready; a not-ready answer is false, not an error.
    #[napi]
    pub async fn readiness(&self) -> Result<bool> {
        self.client.readiness().await.napi()
    }

    #[napi]
    pub async fn create_policy(&self, request: CreatePolicyRequest) -> Result<Policy> {
        let request: core::CreatePolicyRequest = request.into();
        self.client.create_policy(&request).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn publish_policy(&self, request: CreatePolicyRequest) -> Result<PolicyPublication> {
        let request: core::CreatePolicyRequest = request.into();
        self.client.publish_policy(&request).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn get_policy(&self, policy_id: String) -> Result<Policy> {
        self.client.get_policy(&policy_id).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn list_policies(&self, options: Option<ListPoliciesOptions>) -> Result<PolicyPage> {
        let (limit, cursor) = options.map_or((None, None), |o| (o.limit, o.cursor));
        self.client.list_policies(limit, cursor.as_deref()).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn archive_policy(&self, policy_id: String, idempotency_key: Option<String>) -> Result<()> {
        self.client.archive_policy(&policy_id, idempotency_key.as_deref()).await.napi()
    }

    #[napi]
    pub async fn preview_policy(&self, request: PolicyPreviewRequest) -> Result<PolicyPreview> {
        let request: core::PolicyPreviewRequest = request.into();
        self.client.preview_policy(&request).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn wait_for_confirmation(
        &self,
        confirmation_id: String,
        options: Option<WaitOptions>,
    ) -> Result<Confirmation> {
        let defaults = allowly_core::client::WaitOptions::DEFAULT;
        let options = options.unwrap_or(WaitOptions { timeout_ms: None, poll_interval_ms: None });
        let timeout = options.timeout_ms.map_or(defaults.timeout, ms);
        let poll = options.poll_interval_ms.map_or(defaults.poll_interval, ms);
        self.client.wait_for_confirmation(&confirmation_id, timeout, poll).await.map(Into::into).napi()
    }

    /// `waitMs` lets the server hold the request until the receipt is signed (at most 30 000).
    #[napi]
    pub async fn get_receipt(&self, receipt_id: String, wait_ms: Option<u32>) -> Result<ReceiptEnvelope> {
        self.client.get_receipt(&receipt_id, wait_ms.map(ms)).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn fetch_signed(&self, receipt_id: String, options: Option<FetchSignedOpts>) -> Result<SignedReceipt> {
        let mut opts = FetchSignedOptions::default();
        if let Some(o) = options {
            if let Some(p) = o.poll_interval_ms {
                opts.poll_interval = ms(p);
            }
            if let Some(t) = o.timeout_ms {
                opts.timeout = ms(t);
            }
        }
        self.client.fetch_signed(&receipt_id, opts).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn settle_budget(&self, request: SettlementRequest) -> Result<Settlement> {
        let request: core::SettlementRequest = request.into();
        self.client.settle_budget(&request).await.map(Into::into).napi()
    }

    /// The workspace's key document, loaded with the strict key-document parser.
    #[napi]
    pub async fn workspace_keys(&self, workspace_id: String) -> Result<KeySet> {
        let text = self.client.workspace_keys_json(&workspace_id).await.napi()?;
        KeySet::from_json_bytes(text.as_bytes())
    }
}
