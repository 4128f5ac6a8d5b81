//! `AgentCredential`: core's enrolled-agent credential (the file 0.8.0's `NativeAgentCredential` reads) as a UniFFI
//! object, so the private key never sits in a record whose generated `toString` / `description` could print it.

use std::sync::Arc;

use allowly_core::agent_identity::AgentCredential as CoreCredential;

use crate::error::Result;

/// An enrolled agent's credential; `token()` signs a fresh 60-second `X-Allowly-Agent-Token`.
#[derive(Debug, uniffi::Object)]
pub struct AgentCredential {
    pub(crate) inner: CoreCredential,
}

/// Two handles are equal when they hold the same registered key (`ClientOptions` derives equality).
impl PartialEq for AgentCredential {
    fn eq(&self, other: &Self) -> bool {
        self.inner.key_id == other.inner.key_id && self.inner.public_key_jwk() == other.inner.public_key_jwk()
    }
}

impl Eq for AgentCredential {}

#[uniffi::export]
impl AgentCredential {
    /// Reads the credential file's text (`AllowlyError.Config` on anything else; the text is never quoted).
    #[uniffi::constructor]
    pub fn from_json(text: String) -> Result<Arc<Self>> {
        Ok(Arc::new(AgentCredential { inner: CoreCredential::from_json(&text)? }))
    }

    /// A fresh token (iat = now, exp = now + 60 s), the same bytes 0.8.0 mints from this file.
    pub fn token(&self) -> String {
        self.inner.token()
    }

    /// The token as issued at `issued_at` (Unix seconds; valid for 60 s from then), e.g. to test a verifier.
    pub fn token_at(&self, issued_at: i64) -> String {
        self.inner.token_at(issued_at)
    }

    /// The credential file's text. It holds the private key: write it with owner-only permissions.
    pub fn credential_json(&self) -> String {
        self.inner.to_json()
    }

    pub fn workspace_id(&self) -> String {
        self.inner.workspace_id.clone()
    }

    pub fn agent_id(&self) -> String {
        self.inner.agent_id.clone()
    }

    pub fn binding_id(&self) -> String {
        self.inner.binding_id.clone()
    }

    pub fn key_id(&self) -> String {
        self.inner.key_id.clone()
    }
}
