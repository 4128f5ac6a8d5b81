//! `GET /v1/workspaces/{workspace_id}/keys`: the public key document receipts are verified against.

use reqwest::Method;

use super::Client;
use super::transport::Call;
use crate::error::Result;
use crate::model::validate_id;

impl Client {
    /// The workspace's key document as the exact text the server sent (the route needs no auth; sending the bearer is
    /// harmless). Parse it with the receipt module's key-document loader, which is strict on the raw text.
    pub async fn workspace_keys_json(&self, workspace_id: &str) -> Result<String> {
        validate_id("workspace_id", workspace_id)?;
        let call = Call::new(
            Method::GET,
            "GET /v1/workspaces/{workspace_id}/keys",
            vec!["v1", "workspaces", workspace_id, "keys"],
        );
        self.transport().call_text(call).await
    }
}
