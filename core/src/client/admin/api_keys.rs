//! `POST /v1/api-keys`, `GET /v1/api-keys`, `DELETE /v1/api-keys/{id}`.

use reqwest::Method;
use serde::Deserialize;

use super::super::Client;
use super::super::transport::Call;
use crate::error::{Error, Result};
use crate::model::{ApiKey, ApiKeyRevocation, CreateApiKeyRequest, CreatedApiKey, validate_id};

#[derive(Deserialize)]
struct ApiKeyList {
    data: Vec<ApiKey>,
}

impl Client {
    /// Creates an API key; its text is in this answer only (`CreatedApiKey::key`, redacted from `Debug`). Retries
    /// reuse one `Idempotency-Key`, so a lost answer never creates a second key.
    pub async fn create_api_key(&self, request: &CreateApiKeyRequest) -> Result<CreatedApiKey> {
        const ROUTE: &str = "POST /v1/api-keys";
        request.validate()?;
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "api-keys"]).json(request)?;
        let created: CreatedApiKey = self.transport().call(call).await?;
        if created.name != request.name {
            return Err(Error::Protocol { message: format!("{ROUTE}: the created key is not the one asked for") });
        }
        Ok(created)
    }

    /// Every key of the workspace (revoked ones too), by prefix.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let call = Call::new(Method::GET, "GET /v1/api-keys", vec!["v1", "api-keys"]);
        Ok(self.transport().call::<ApiKeyList>(call).await?.data)
    }

    /// Revokes a key at once; revoking it again answers the first `revoked_at`. The workspace's last live setup key
    /// cannot be revoked (`Error::Conflict` `last_setup_key`).
    pub async fn revoke_api_key(&self, id: &str) -> Result<ApiKeyRevocation> {
        const ROUTE: &str = "DELETE /v1/api-keys/{id}";
        validate_id("id", id)?;
        let call = Call::new(Method::DELETE, ROUTE, vec!["v1", "api-keys", id]);
        let revocation: ApiKeyRevocation = self.transport().call(call).await?;
        if revocation.id != id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is about another key") });
        }
        Ok(revocation)
    }
}
