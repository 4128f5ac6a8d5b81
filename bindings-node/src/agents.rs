//! `AgentCredential`: core's enrolled-agent credential (the file 0.8.0's `NativeAgentCredential` reads) and its
//! tokens. `toJSON` shows the ids only; the private key leaves only through `credentialJson()`, for the caller to
//! store privately.

use allowly_core::agent_identity::AgentCredential as CoreCredential;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::IntoNapi;

/// An enrolled agent's credential; `token()` signs a fresh 60-second `X-Allowly-Agent-Token`.
#[napi]
pub struct AgentCredential {
    pub(crate) inner: CoreCredential,
}

#[napi]
impl AgentCredential {
    /// Reads the credential file's text (a `ConfigError` on anything else; the text is never quoted).
    #[napi(factory)]
    pub fn from_json(text: String) -> Result<AgentCredential> {
        Ok(AgentCredential { inner: CoreCredential::from_json(&text).napi()? })
    }

    /// A fresh token (iat = now, exp = now + 60 s), the same bytes 0.8.0 mints from this file.
    #[napi]
    pub fn token(&self) -> String {
        self.inner.token()
    }

    /// The token as issued at `issuedAt` (Unix seconds; valid for 60 s from then), e.g. to test a verifier.
    #[napi]
    pub fn token_at(&self, issued_at: i64) -> String {
        self.inner.token_at(issued_at)
    }

    /// The credential file's text. It holds the private key: write it with owner-only permissions.
    #[napi]
    pub fn credential_json(&self) -> String {
        self.inner.to_json()
    }

    #[napi(getter)]
    pub fn workspace_id(&self) -> String {
        self.inner.workspace_id.clone()
    }

    #[napi(getter)]
    pub fn agent_id(&self) -> String {
        self.inner.agent_id.clone()
    }

    #[napi(getter)]
    pub fn binding_id(&self) -> String {
        self.inner.binding_id.clone()
    }

    #[napi(getter)]
    pub fn key_id(&self) -> String {
        self.inner.key_id.clone()
    }

    /// The ids only, never the key.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "workspaceId": self.inner.workspace_id,
            "agentId": self.inner.agent_id,
            "bindingId": self.inner.binding_id,
            "keyId": self.inner.key_id,
        })
    }
}
