//! Signing, for the issuer and for tests. It uses the verifier's own canonicalization, so anything signed here
//! verifies everywhere the verifier's rules hold, and anything the verifier would reject (floats, unsafe integers,
//! excessive depth) cannot be signed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};

use super::canonical;
use super::json::{Object, Value};
use crate::error::{VerificationError, VerificationErrorKind};

/// The canonical unpadded base64url Ed25519 signature over the payload (a `signature` member, if present, is
/// ignored, exactly as verification ignores it).
pub fn sign_payload(payload: &Object, key: &SigningKey) -> Result<String, VerificationError> {
    let bytes = canonical::payload_bytes(payload)?;
    Ok(URL_SAFE_NO_PAD.encode(key.sign(&bytes).to_bytes()))
}

/// Returns `payload` with its `signature` member set.
pub fn sign_receipt(payload: &serde_json::Value, key: &SigningKey) -> Result<serde_json::Value, VerificationError> {
    let serde_json::Value::Object(map) = payload else {
        return Err(VerificationError::new(VerificationErrorKind::Schema, "receipt must be an object"));
    };
    let value = Value::from(payload);
    let obj = value.as_object().expect("converted from an object");
    let signature = sign_payload(obj, key)?;
    let mut out = map.clone();
    out.insert("signature".to_owned(), serde_json::Value::String(signature));
    Ok(serde_json::Value::Object(out))
}

/// Like [`sign_receipt`] for an already parsed value.
pub fn sign_receipt_value(payload: &Object, key: &SigningKey) -> Result<Object, VerificationError> {
    let signature = sign_payload(payload, key)?;
    let mut out = payload.clone();
    out.insert("signature", Value::String(signature.into()));
    Ok(out)
}

/// A wire-5 receipt: the flattened JWS `{protected, payload, signature}` over the canonical header
/// `{"alg":"EdDSA","kid":key_id,"typ":"allowly-receipt+jws"}` and the canonical payload.
pub fn sign_receipt_jws(
    payload: &serde_json::Value,
    key_id: &str,
    key: &SigningKey,
) -> Result<serde_json::Value, VerificationError> {
    if !payload.is_object() {
        return Err(VerificationError::new(VerificationErrorKind::Schema, "receipt payload must be an object"));
    }
    if key_id.is_empty() {
        return Err(VerificationError::new(VerificationErrorKind::Schema, "JWS kid must be a nonempty string"));
    }
    let header = serde_json::json!({"alg": "EdDSA", "kid": key_id, "typ": "allowly-receipt+jws"});
    let protected = URL_SAFE_NO_PAD.encode(canonical::canonicalize(&Value::from(&header))?);
    let body = URL_SAFE_NO_PAD.encode(canonical::canonicalize(&Value::from(payload))?);
    let signing_input = format!("{protected}.{body}");
    let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes()).to_bytes());
    Ok(serde_json::json!({"protected": protected, "payload": body, "signature": signature}))
}
