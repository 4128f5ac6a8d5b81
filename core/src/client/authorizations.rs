//! `POST /v1/authorizations` (scope grants and policy edition grants), `GET` and `DELETE /v1/authorizations/{id}`.

use reqwest::Method;

use super::Client;
use super::transport::Call;
use crate::error::Result;
use crate::model::{
    Authorization, AuthorizationRequest, CreateAuthorizationRequest, CreateEditionAuthorizationRequest,
    CreatedAuthorization, EditionAuthorization, Revocation, RevokeRequest, validate_id,
};

impl Client {
    /// Creates an authorization (201). The response's `receipt` is the pending `authorization.create` receipt.
    ///
    /// Retries reuse one idempotency key, so a retried create never makes two authorizations.
    pub async fn create_authorization(&self, request: &CreateAuthorizationRequest) -> Result<Authorization> {
        request.validate()?;
        let call = Call::new(Method::POST, "POST /v1/authorizations", vec!["v1", "authorizations"]).json(request)?;
        self.transport().call(call).await
    }

    /// Grants a user a policy edition (all its actions, or the `actions` subset). 201. The answer must name the
    /// requested edition and actions, or it is a protocol error.
    pub async fn create_edition_authorization(
        &self,
        request: &CreateEditionAuthorizationRequest,
    ) -> Result<EditionAuthorization> {
        const ROUTE: &str = "POST /v1/authorizations";
        request.validate()?;
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "authorizations"])
            .json(request)?
            .idempotency_key(request.idempotency_key.clone());
        let created: EditionAuthorization = self.transport().call(call).await?;
        created.check_matches(request, ROUTE)?;
        Ok(created)
    }

    /// Creates whichever authorization [`AuthorizationArgs`](crate::model::AuthorizationArgs) resolved to: what the
    /// bindings' `authorizations.create` calls, so one set of keyword arguments serves both call shapes.
    pub async fn create_any_authorization(&self, request: &AuthorizationRequest) -> Result<CreatedAuthorization> {
        match request {
            AuthorizationRequest::Scopes(r) => self.create_authorization(r).await.map(CreatedAuthorization::Scopes),
            AuthorizationRequest::Edition(r) => {
                self.create_edition_authorization(r).await.map(CreatedAuthorization::Edition)
            }
        }
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
