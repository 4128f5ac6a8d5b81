//! `PUT/GET/DELETE /v1/webhook`: the workspace's generic webhook endpoint.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::super::Client;
use super::super::transport::Call;
use crate::error::{Error, Result};
use crate::model::{WebhookEndpoint, WebhookSecret};

#[derive(Serialize)]
struct PutWebhook<'a> {
    url: &'a str,
}

#[derive(Deserialize)]
struct Deleted {
    deleted: bool,
}

impl Client {
    /// Sets (or replaces) the endpoint; the answer carries a new signing secret, once (redacted from `Debug`).
    /// The server refuses URLs it will not deliver to (422 naming `url`).
    pub async fn set_webhook(&self, url: &str) -> Result<WebhookSecret> {
        if url.is_empty() {
            return Err(Error::invalid_input("url", "url must not be empty"));
        }
        let call = Call::new(Method::PUT, "PUT /v1/webhook", vec!["v1", "webhook"]).json(&PutWebhook { url })?;
        self.transport().call(call).await
    }

    /// The endpoint without its secret; `Error::NotFound` (`webhook_not_found`) when none is set.
    pub async fn get_webhook(&self) -> Result<WebhookEndpoint> {
        self.transport().call(Call::new(Method::GET, "GET /v1/webhook", vec!["v1", "webhook"])).await
    }

    /// Removes the endpoint and stops deliveries; `Error::NotFound` when none is set.
    pub async fn delete_webhook(&self) -> Result<()> {
        const ROUTE: &str = "DELETE /v1/webhook";
        let answer: Deleted = self.transport().call(Call::new(Method::DELETE, ROUTE, vec!["v1", "webhook"])).await?;
        if !answer.deleted {
            return Err(Error::Protocol { message: format!("{ROUTE}: the server did not delete the endpoint") });
        }
        Ok(())
    }
}
