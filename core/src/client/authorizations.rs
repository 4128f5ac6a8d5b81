//! `POST /v1/authorizations`, `GET` and `DELETE /v1/authorizations/{id}`.

use reqwest::Method;

use super::Client;
use super::transport::Call;
use crate::error::Result;
use crate::model::{Authorization, CreateAuthorizationRequest, Revocation, RevokeRequest, validate_id};

impl Client {
    /// Creates an authorization (201). The response's `receipt` is the pending `authorization.create` receipt.
    ///
    /// Retries reuse one idempotency key, so a retried create never makes two authorizations.
    pub async fn create_authorization(&self, request: &CreateAuthorizationRequest) -> Result<Authorization> {
        request.validate()?;
        let call = Call::new(Method::POST, "POST /v1/authorizations", vec!["v1", "authorizations"]).json(request)?;
        self.transport().call(call).await
    }

    /// Reads an authorization, including its `status`.
    pub async fn get_authorization(&self, authorization_id: &str) -> Result<Authorization> {
        validate_id("authorization_id", authorization_id)?;
        let call = Call::new(
            Method::GET,
            "GET /v1/authorizations/{authorization_id}",
            vec!["v1", "authorizations", authorization_id],
        );
        self.transport().call(call).await
    }

    /// Revokes an authorization. Idempotent on the server: revoking twice returns the first result.
    pub async fn revoke_authorization(&self, authorization_id: &str, request: &RevokeRequest) -> Result<Revocation> {
        validate_id("authorization_id", authorization_id)?;
        request.validate()?;
        let call = Call::new(
            Method::DELETE,
            "DELETE /v1/authorizations/{authorization_id}",
            vec!["v1", "authorizations", authorization_id],
        )
        .json(request)?;
        self.transport().call(call).await
    }
}
