//! Policy editions: `POST/GET /v1/policies`, `GET/DELETE /v1/policies/{policy_id}` and the setup routes
//! `POST /v1/setup/policies/preview` and `/publish`.
//!
//! Every definition is validated locally first (`CreatePolicyRequest::validate`, the profile code the server runs),
//! so an invalid one never leaves the process; answers are checked against what was sent.

use reqwest::Method;
use serde_json::Value;

use super::Client;
use super::transport::Call;
use crate::error::{Error, Result};
use crate::model::policies::{protocol, validate_policy_id};
use crate::model::{CreatePolicyRequest, Policy, PolicyPage, PolicyPreview, PolicyPreviewRequest, PolicyPublication};
use crate::policy::validate_definition;

/// The largest page `GET /v1/policies` answers.
pub const MAX_POLICY_PAGE: u32 = 100;

impl Client {
    /// Creates the next edition of `policy_id` (version 1 for a new id). 201.
    pub async fn create_policy(&self, request: &CreatePolicyRequest) -> Result<Policy> {
        const ROUTE: &str = "POST /v1/policies";
        let definition = request.validate()?;
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "policies"])
            .json(&request.body()?)?
            .idempotency_key(request.idempotency_key.clone());
        let policy: Policy = self.transport().call(call).await?;
        policy.check_digest(ROUTE)?;
        if policy.policy_ref.policy_id != request.policy_id || &policy.definition != definition.as_json() {
            return Err(protocol(ROUTE, "the created policy is not the submitted definition"));
        }
        Ok(policy)
    }

    /// The newest edition of `policy_id`.
    pub async fn get_policy(&self, policy_id: &str) -> Result<Policy> {
        const ROUTE: &str = "GET /v1/policies/{policy_id}";
        validate_policy_id("policy_id", policy_id)?;
        let policy: Policy =
            self.transport().call(Call::new(Method::GET, ROUTE, vec!["v1", "policies", policy_id])).await?;
        policy.check_digest(ROUTE)?;
        if policy.policy_ref.policy_id != policy_id {
            return Err(protocol(ROUTE, "the answer is another policy than the one asked for"));
        }
        Ok(policy)
    }

    /// One page of policies (newest edition of each). `limit` is 1 to 100 (the server's default when `None`).
    pub async fn list_policies(&self, limit: Option<u32>, cursor: Option<&str>) -> Result<PolicyPage> {
        const ROUTE: &str = "GET /v1/policies";
        let mut call = Call::new(Method::GET, ROUTE, vec!["v1", "policies"]);
        if let Some(limit) = limit {
            if !(1..=MAX_POLICY_PAGE).contains(&limit) {
                return Err(Error::invalid_input("limit", format!("limit must be 1 to {MAX_POLICY_PAGE}")));
            }
            call = call.query("limit", limit.to_string());
        }
        if let Some(cursor) = cursor {
            call = call.query("cursor", cursor.to_owned());
        }
        let page: PolicyPage = self.transport().call(call).await?;
        for policy in &page.items {
            policy.check_digest(ROUTE)?;
        }
        Ok(page)
    }

    /// Archives `policy_id` (204): no new grants from it; existing editions stay readable for verification.
    pub async fn archive_policy(&self, policy_id: &str, idempotency_key: Option<&str>) -> Result<()> {
        validate_policy_id("policy_id", policy_id)?;
        if let Some(key) = idempotency_key {
            crate::model::policies::validate_idempotency_key(key)?;
        }
        let call = Call::new(Method::DELETE, "DELETE /v1/policies/{policy_id}", vec!["v1", "policies", policy_id])
            .idempotency_key(idempotency_key.map(str::to_owned));
        self.transport().call_text(call).await.map(drop)
    }

    /// Evaluates an unpublished definition on the server (a setup key's call) and checks the answer against the same
    /// evaluation made locally first: same definition digest, same input commitment. The local evaluation is what
    /// refuses an undeclared action or a bad context before sending.
    pub async fn preview_policy(&self, request: &PolicyPreviewRequest) -> Result<PolicyPreview> {
        const ROUTE: &str = "POST /v1/setup/policies/preview";
        let definition = validate_definition(&request.definition)?;
        let local = crate::policy::evaluate(&definition, &request.action, &Value::Object(request.context.clone()))?;
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "setup", "policies", "preview"]).json(request)?;
        let preview: PolicyPreview = self.transport().call(call).await?;
        if !preview.provisional || preview.action != request.action || preview.definition_sha256 != definition.sha256()
        {
            return Err(protocol(ROUTE, "the preview is not of the submitted definition and action"));
        }
        if preview.policy_eval.input_sha256 != local.input_sha256 {
            return Err(protocol(ROUTE, "the preview's input commitment is not the submitted policy and context"));
        }
        Ok(preview)
    }

    /// Publishes an edition and moves the active authorizations of the previous one onto it (a setup key's call).
    /// `request.idempotency_key` is required: a publish migrates grants, and a retry must not migrate twice.
    pub async fn publish_policy(&self, request: &CreatePolicyRequest) -> Result<PolicyPublication> {
        const ROUTE: &str = "POST /v1/setup/policies/publish";
        let definition = request.validate()?;
        if request.idempotency_key.is_none() {
            return Err(Error::invalid_input("idempotency_key", "publish requires an idempotency_key"));
        }
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "setup", "policies", "publish"])
            .json(&request.body()?)?
            .idempotency_key(request.idempotency_key.clone());
        let publication: PolicyPublication = self.transport().call(call).await?;
        let reference = &publication.policy_ref;
        if reference.policy_id != request.policy_id
            || reference.definition_sha256 != definition.sha256()
            || publication.agent_id != definition.agent_id()
        {
            return Err(protocol(ROUTE, "the published policy is not the submitted definition"));
        }
        Ok(publication)
    }
}
