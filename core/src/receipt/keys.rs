//! Issuer key documents: which Ed25519 keys may have signed a workspace's receipts, and when.
//!
//! A key document is input, not a trust anchor: callers pin the workspace and, ideally, key fingerprints. What this
//! module guarantees is that a loaded [`KeySet`] is unambiguous (one entry per `key_id`, one entry per key) and that
//! every key is one an honest signer could hold. Keys that are small-order, carry a torsion component or are
//! non-canonically encoded are refused at load time: with such keys some signatures verify under one Ed25519
//! equation and fail under another (single vs batch verification), and small-order keys allow universal forgeries.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use super::json::{self, Value, quote};
use super::timestamp::{Timestamp, TimestampError};
use crate::error::{VerificationError, VerificationErrorKind};

fn doc_error(msg: impl Into<String>) -> VerificationError {
    VerificationError::new(VerificationErrorKind::KeyDocument, msg)
}

/// `sha256:` + lowercase hex of SHA-256 over the raw 32-byte public key.
pub fn fingerprint(public_key_bytes: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key_bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    push_hex(&mut out, &digest);
    out
}

pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xF) as usize] as char);
    }
}

/// Decodes canonical unpadded base64url: URL alphabet only, no `=`, and zero unused trailing bits (checked by
/// re-encoding, so exactly one text maps to each byte string).
pub(crate) fn decode_b64url_canonical(text: &str, out: &mut [u8]) -> Option<usize> {
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let n = URL_SAFE_NO_PAD.decode_slice(text, out).ok()?;
    let mut re = [0u8; 128];
    let m = URL_SAFE_NO_PAD.encode_slice(&out[..n], &mut re).ok()?;
    (re[..m] == *text.as_bytes()).then_some(n)
}

/// One published key and its half-open active window `[active_from, active_until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyEntry {
    pub key_id: String,
    pub public_key: VerifyingKey,
    /// `sha256:<hex>`, always recomputed from `public_key`.
    pub fingerprint: String,
    pub active_from: Timestamp,
    /// `None`: the key has not been retired.
    pub active_until: Option<Timestamp>,
}

impl PublicKeyEntry {
    /// Builds an entry (for issuers assembling their key document); the same rules as loading apply.
    pub fn new(
        key_id: impl Into<String>,
        public_key: VerifyingKey,
        active_from: &str,
        active_until: Option<&str>,
    ) -> Result<Self, VerificationError> {
        let key_id = key_id.into();
        if key_id.is_empty() {
            return Err(doc_error("key_id must be a non-empty string"));
        }
        check_key_point(&key_id, &public_key)?;
        let ts = |field: &str, text: &str| {
            Timestamp::parse(text).map_err(|e| doc_error(format!("key '{key_id}': {}", e.describe(field, text))))
        };
        let active_from = ts("active_from", active_from)?;
        let active_until = active_until.map(|t| ts("active_until", t)).transpose()?;
        if let Some(until) = &active_until {
            if until.unix_millis() <= active_from.unix_millis() {
                return Err(doc_error(format!(
                    "key '{key_id}': active_until {until} must be after active_from {active_from}"
                )));
            }
        }
        let fingerprint = fingerprint(public_key.as_bytes());
        Ok(Self { key_id, public_key, fingerprint, active_from, active_until })
    }

    /// Whether the window contains `issued_at` (Unix milliseconds).
    pub fn contains_instant(&self, issued_at_unix_millis: i64) -> Result<(), VerificationError> {
        if issued_at_unix_millis < self.active_from.unix_millis() {
            return Err(VerificationError::new(
                VerificationErrorKind::KeyOutsideWindow,
                format!("key '{}' not yet active at issued_at (active_from {})", self.key_id, self.active_from),
            ));
        }
        if let Some(until) = &self.active_until {
            if issued_at_unix_millis >= until.unix_millis() {
                return Err(VerificationError::new(
                    VerificationErrorKind::KeyOutsideWindow,
                    format!("key '{}' retired before issued_at (active_until {until})", self.key_id),
                ));
            }
        }
        Ok(())
    }

    /// The §6 entry, with the fingerprint.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "key_id": self.key_id,
            "alg": "Ed25519",
            "public_key": URL_SAFE_NO_PAD.encode(self.public_key.as_bytes()),
            "public_key_fingerprint": self.fingerprint,
            "active_from": self.active_from.as_str(),
            "active_until": self.active_until.as_ref().map(Timestamp::as_str),
        })
    }
}

/// See the module docs for why these keys are refused.
fn check_key_point(key_id: &str, key: &VerifyingKey) -> Result<(), VerificationError> {
    let point = key.to_edwards();
    if point.compress().as_bytes() != key.as_bytes() {
        return Err(doc_error(format!("key '{key_id}': public_key is not a canonical Ed25519 point encoding")));
    }
    if key.is_weak() {
        return Err(doc_error(format!("key '{key_id}': public_key is a small-order (weak) Ed25519 point")));
    }
    if !point.is_torsion_free() {
        return Err(doc_error(format!("key '{key_id}': public_key has a torsion component")));
    }
    Ok(())
}

/// A validated key document for one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySet {
    pub workspace_id: String,
    keys: Vec<PublicKeyEntry>,
}

impl KeySet {
    /// Assembles a set, refusing an empty workspace id, repeated key ids and one key published twice.
    pub fn from_entries(workspace_id: impl Into<String>, keys: Vec<PublicKeyEntry>) -> Result<Self, VerificationError> {
        let workspace_id = workspace_id.into();
        if workspace_id.is_empty() {
            return Err(doc_error("key document workspace_id must be a non-empty string"));
        }
        for (i, k) in keys.iter().enumerate() {
            for earlier in &keys[..i] {
                if earlier.key_id == k.key_id {
                    return Err(doc_error(format!("duplicate key_id '{}' in key document", k.key_id)));
                }
                if earlier.public_key == k.public_key {
                    return Err(doc_error(format!(
                        "key '{}' repeats the public key of key '{}'",
                        k.key_id, earlier.key_id
                    )));
                }
            }
        }
        Ok(Self { workspace_id, keys })
    }

    /// Reads a §6 document from an already strictly parsed value.
    pub fn from_value(doc: &Value) -> Result<Self, VerificationError> {
        let obj = doc.as_object().ok_or_else(|| doc_error("key document must be a JSON object"))?;
        let workspace_id = match obj.get("workspace_id") {
            Some(v) => v.as_str().filter(|s| !s.is_empty()),
            None => None,
        }
        .ok_or_else(|| doc_error("key document workspace_id must be a non-empty string"))?;
        let entries = obj
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| doc_error("key document must have a 'keys' array"))?;
        let keys = entries.iter().enumerate().map(|(i, e)| entry_from_value(i, e)).collect::<Result<Vec<_>, _>>()?;
        Self::from_entries(workspace_id, keys)
    }

    #[inline]
    pub fn get(&self, key_id: &str) -> Option<&PublicKeyEntry> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, PublicKeyEntry> {
        self.keys.iter()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every key's fingerprint, e.g. to pin them after an out-of-band check.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.fingerprint.clone()).collect()
    }

    /// The §6 document, as served at `/v1/workspaces/{id}/keys`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "workspace_id": self.workspace_id,
            "keys": self.keys.iter().map(PublicKeyEntry::to_json).collect::<Vec<_>>(),
        })
    }
}

impl<'a> IntoIterator for &'a KeySet {
    type Item = &'a PublicKeyEntry;
    type IntoIter = std::slice::Iter<'a, PublicKeyEntry>;
    fn into_iter(self) -> Self::IntoIter {
        self.keys.iter()
    }
}

/// Strictly parses (duplicate names, numbers, BOM...) and validates a §6 key document.
pub fn load_keys_from_json(bytes: &[u8]) -> Result<KeySet, VerificationError> {
    let doc = json::parse(bytes).map_err(|e| doc_error(format!("key document is not valid JSON: {}", e.message)))?;
    KeySet::from_value(&doc)
}

fn entry_from_value(i: usize, entry: &Value) -> Result<PublicKeyEntry, VerificationError> {
    let obj = entry.as_object().ok_or_else(|| doc_error(format!("keys[{i}] must be an object")))?;
    let key_id = obj
        .get("key_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| doc_error(format!("keys[{i}].key_id must be a non-empty string")))?;
    let name = format!("keys[{i}] ('{key_id}')");
    let string = |field: &str| {
        obj.get(field).and_then(Value::as_str).ok_or_else(|| doc_error(format!("{name}: {field} must be a string")))
    };
    let alg = string("alg")?;
    if alg != "Ed25519" {
        return Err(doc_error(format!("{name}: alg must be \"Ed25519\", got {}", quote(alg))));
    }
    let public_key = string("public_key")?;
    let mut raw = [0u8; 64];
    let bytes: [u8; 32] =
        decode_b64url_canonical(public_key, &mut raw).and_then(|n| raw[..n].try_into().ok()).ok_or_else(|| {
            doc_error(format!("{name}: public_key must be canonical unpadded base64url of exactly 32 bytes"))
        })?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| doc_error(format!("{name}: public_key is not a valid Ed25519 point")))?;
    if let Some(fp) = obj.get("public_key_fingerprint") {
        let expected = fingerprint(&bytes);
        if fp.as_str() != Some(expected.as_str()) {
            return Err(doc_error(format!(
                "fingerprint mismatch for key '{key_id}': public_key_fingerprint does not equal {expected}"
            )));
        }
    }
    let active_from = string("active_from")?;
    let active_until = match obj.get("active_until") {
        Some(Value::Null) => None,
        Some(v) => Some(v.as_str().ok_or_else(|| doc_error(format!("{name}: active_until must be a string or null")))?),
        None => return Err(doc_error(format!("{name}: active_until must be present (a string or null)"))),
    };
    // Re-check timestamps here so messages carry the entry index as well as the key id.
    for (field, text) in [("active_from", Some(active_from)), ("active_until", active_until)] {
        if let Some(text) = text {
            Timestamp::parse(text)
                .map_err(|e: TimestampError| doc_error(format!("{name}: {}", e.describe(field, text))))?;
        }
    }
    PublicKeyEntry::new(key_id, key, active_from, active_until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_base64url_only() {
        let mut out = [0u8; 8];
        assert_eq!(decode_b64url_canonical("AAE", &mut out), Some(2));
        assert_eq!(decode_b64url_canonical("AAF", &mut out), None, "non-zero pad bits");
        assert_eq!(decode_b64url_canonical("AAE=", &mut out), None);
        assert_eq!(decode_b64url_canonical("AA+E", &mut out), None);
        assert_eq!(decode_b64url_canonical("", &mut out), Some(0));
    }

    #[test]
    fn rejects_weak_and_torsion_keys() {
        // The identity point (y = 1) is small-order.
        let mut id = [0u8; 32];
        id[0] = 1;
        let vk = VerifyingKey::from_bytes(&id).unwrap();
        let e = PublicKeyEntry::new("k", vk, "2026-01-01T00:00:00.000Z", None).unwrap_err();
        assert_eq!(e.kind, VerificationErrorKind::KeyDocument);
        assert!(e.message.contains("weak"));
    }
}
