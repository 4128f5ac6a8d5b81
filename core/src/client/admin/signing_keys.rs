//! `POST /v1/signing-keys/rotate`.

use reqwest::Method;

use super::super::Client;
use super::super::transport::Call;
use crate::error::Result;
use crate::model::SigningKeyRotation;

impl Client {
    /// Makes a new receipt signing key active now. The old key stays in the workspace's key document (with
    /// `active_until` = now), so receipts it signed keep verifying; refetch the key document to verify new ones.
    pub async fn rotate_signing_key(&self) -> Result<SigningKeyRotation> {
        let call = Call::new(Method::POST, "POST /v1/signing-keys/rotate", vec!["v1", "signing-keys", "rotate"]);
        self.transport().call(call).await
    }
}
