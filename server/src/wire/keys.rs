//! The public key document (receipt format §6) of `GET /v1/workspaces/{id}/keys`. Fields are declared in sorted order
//! of their wire names (see the module above).

use allowly_core::receipt::keys::{KeySet, PublicKeyEntry};
use base64::Engine as _;
use serde::Serialize;
use utoipa::ToSchema;

/// Every key the workspace ever signed with; a retired key keeps its `active_until`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyDocument {
    pub keys: Vec<PublicKey>,
    pub workspace_id: String,
}

/// One published key and its half-open active window `[active_from, active_until)`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicKey {
    pub active_from: String,
    /// `null` until the key is retired.
    pub active_until: Option<String>,
    pub alg: &'static str,
    pub key_id: String,
    /// The raw 32-byte Ed25519 key, base64url without padding.
    pub public_key: String,
    /// `sha256:<hex>` of the raw key.
    pub public_key_fingerprint: String,
}

/// Built from core's validated [`KeySet`], so the served document is one the verifier loads.
impl From<&KeySet> for KeyDocument {
    fn from(set: &KeySet) -> Self {
        Self { keys: set.iter().map(PublicKey::from).collect(), workspace_id: set.workspace_id.clone() }
    }
}

impl From<&PublicKeyEntry> for PublicKey {
    fn from(k: &PublicKeyEntry) -> Self {
        Self {
            active_from: k.active_from.as_str().to_string(),
            active_until: k.active_until.as_ref().map(|t| t.as_str().to_string()),
            alg: "Ed25519",
            key_id: k.key_id.clone(),
            public_key: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.public_key.as_bytes()),
            public_key_fingerprint: k.fingerprint.clone(),
        }
    }
}
