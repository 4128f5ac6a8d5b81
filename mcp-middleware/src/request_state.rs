//! The sealed `requestState` of a 2026-07-28 confirmation round trip.
//!
//! The client echoes `requestState` back verbatim, and it must carry the confirmation nonce — the single-use secret
//! that approves the action — from the first `tools/call` to the retry without the client or the model ever reading
//! it. So the state is encrypted, not just signed (rmcp's request-state codec is integrity-only): XChaCha20-Poly1305
//! under a key only the gate holds, with the gate's audience as associated data, so a state minted by another gate
//! (or for another audience under a shared key) does not open here. The plaintext binds the call it was minted for —
//! identity, authorization, tool, scope and an arguments digest — and an expiry no later than the confirmation's, so a
//! state replayed on another call, or late, is refused. Single use is the server's: the nonce resolves once.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Longest `requestState` text the gate mints or opens; anything longer is refused before decoding.
pub const MAX_REQUEST_STATE_CHARS: usize = 8192;
/// How long a state stays valid when the confirmation itself would allow longer.
pub const DEFAULT_REQUEST_STATE_TTL: Duration = Duration::from_secs(600);

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const AAD_LABEL: &[u8] = b"allowly-mcp/request-state/v1\0";

/// The 32-byte key request states are sealed under. Random per gate unless configured (to let several gate instances
/// behind one client open each other's states). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestStateKey([u8; 32]);

impl RequestStateKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        RequestStateKey(key)
    }

    pub fn from_bytes(key: [u8; 32]) -> Self {
        RequestStateKey(key)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }
}

impl fmt::Debug for RequestStateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestStateKey([redacted])")
    }
}

/// What a state binds. Lives only inside the gate: minted into ciphertext and opened from it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SealedCall {
    pub identity: String,
    pub authorization_id: String,
    pub tool: String,
    pub scope: String,
    pub arguments_sha256: String,
    pub nonce: String,
    pub confirmation_id: Option<String>,
    /// Unix seconds; the state is valid strictly before it.
    pub expires_at: i64,
    /// Receipts of the decisions so far (ids are not secrets), so the final result lists them all.
    pub receipt_ids: Vec<String>,
}

impl fmt::Debug for SealedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedCall")
            .field("tool", &self.tool)
            .field("scope", &self.scope)
            .field("confirmation_id", &self.confirmation_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a state did not open. Each is answered -32602; the variants only choose the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateError {
    /// Not base64url, too long, or an unknown version.
    Malformed,
    /// Did not decrypt: tampered, or minted under another key or for another audience.
    Foreign,
    Expired,
}

impl StateError {
    pub fn message(self) -> &'static str {
        match self {
            StateError::Malformed => "requestState is malformed",
            StateError::Foreign => "requestState was not issued by this server or was altered",
            StateError::Expired => "requestState has expired; call the tool again",
        }
    }
}

/// Seals `call` for `audience`; `None` only if the result would exceed [`MAX_REQUEST_STATE_CHARS`].
pub(crate) fn seal(key: &RequestStateKey, audience: &str, call: &SealedCall) -> Option<String> {
    seal_as(key, Sealing::CONFIRMATION, audience, call)
}

/// Opens a state minted by [`seal`] with the same key and audience, valid at `now` (unix seconds).
pub(crate) fn open(key: &RequestStateKey, audience: &str, text: &str, now: i64) -> Result<SealedCall, StateError> {
    let call: SealedCall = open_as(key, Sealing::CONFIRMATION, audience, text)?;
    if now >= call.expires_at {
        return Err(StateError::Expired);
    }
    Ok(call)
}

/// One kind of sealed state: its version byte, associated-data label and longest text. Each kind has its own label,
/// so a state of one kind never opens as another even under the same key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sealing {
    pub version: u8,
    label: &'static [u8],
    pub max_chars: usize,
}

impl Sealing {
    pub const fn new(version: u8, label: &'static [u8], max_chars: usize) -> Sealing {
        Sealing { version, label, max_chars }
    }

    pub const CONFIRMATION: Sealing =
        Sealing { version: VERSION, label: AAD_LABEL, max_chars: MAX_REQUEST_STATE_CHARS };
}

/// The version byte of a state text, when it decodes at all; tells the kinds apart before opening.
pub(crate) fn version_of(text: &str, max_chars: usize) -> Option<u8> {
    if text.is_empty() || text.len() > max_chars {
        return None;
    }
    B64.decode(text).ok()?.first().copied()
}

fn aad_of(sealing: Sealing, audience: &str) -> Vec<u8> {
    let mut aad = sealing.label.to_vec();
    aad.extend_from_slice(audience.as_bytes());
    aad
}

pub(crate) fn seal_as<T: Serialize>(
    key: &RequestStateKey,
    sealing: Sealing,
    audience: &str,
    value: &T,
) -> Option<String> {
    let plaintext = serde_json::to_vec(value).ok()?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = aad_of(sealing, audience);
    let ciphertext = key.cipher().encrypt(XNonce::from_slice(&nonce), Payload { msg: &plaintext, aad: &aad }).ok()?;
    let mut bytes = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    bytes.push(sealing.version);
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&ciphertext);
    let text = B64.encode(bytes);
    (text.len() <= sealing.max_chars).then_some(text)
}

pub(crate) fn open_as<T: DeserializeOwned>(
    key: &RequestStateKey,
    sealing: Sealing,
    audience: &str,
    text: &str,
) -> Result<T, StateError> {
    if text.is_empty() || text.len() > sealing.max_chars {
        return Err(StateError::Malformed);
    }
    let bytes = B64.decode(text).map_err(|_| StateError::Malformed)?;
    if bytes.len() <= 1 + NONCE_LEN || bytes[0] != sealing.version {
        return Err(StateError::Malformed);
    }
    let (nonce, ciphertext) = bytes[1..].split_at(NONCE_LEN);
    let aad = aad_of(sealing, audience);
    let plaintext = key
        .cipher()
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad })
        .map_err(|_| StateError::Foreign)?;
    // Authenticated but unreadable can only be a state of another format version under the same key.
    serde_json::from_slice(&plaintext).map_err(|_| StateError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> SealedCall {
        SealedCall {
            identity: "alice".into(),
            authorization_id: "auth_1".into(),
            tool: "delete_note".into(),
            scope: "delete_note".into(),
            arguments_sha256: "00".repeat(32),
            nonce: "cn_super_secret_nonce".into(),
            confirmation_id: Some("cnf_1".into()),
            expires_at: 1_000,
            receipt_ids: vec!["rcp_1".into()],
        }
    }

    #[test]
    fn a_state_opens_only_with_its_key_and_audience_and_before_its_expiry() {
        let key = RequestStateKey::generate();
        let state = seal(&key, "gate-a", &call()).expect("sealed");
        assert!(!state.contains("secret") && !B64.decode(&state).unwrap().windows(6).any(|w| w == b"secret"));
        assert_eq!(open(&key, "gate-a", &state, 999), Ok(call()));
        assert_eq!(open(&key, "gate-a", &state, 1_000), Err(StateError::Expired));
        assert_eq!(open(&key, "gate-b", &state, 999), Err(StateError::Foreign));
        assert_eq!(open(&RequestStateKey::generate(), "gate-a", &state, 999), Err(StateError::Foreign));
    }

    #[test]
    fn every_altered_byte_is_refused() {
        let key = RequestStateKey::generate();
        let state = seal(&key, "gate", &call()).expect("sealed");
        let bytes = B64.decode(&state).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            assert!(open(&key, "gate", &B64.encode(&altered), 0).is_err(), "byte {i}");
        }
        for bad in ["", "not base64!", "AA", &"A".repeat(MAX_REQUEST_STATE_CHARS + 1)] {
            assert_eq!(open(&key, "gate", bad, 0), Err(StateError::Malformed));
        }
    }

    #[test]
    fn the_key_is_never_printed() {
        assert_eq!(format!("{:?}", RequestStateKey::from_bytes([7; 32])), "RequestStateKey([redacted])");
        assert!(!format!("{:?}", call()).contains("secret"));
    }
}
