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

/// A wire-5 receipt: the flattened JWS `{"protected", "payload", "signature"}` over `payload`.
///
/// The header is `{"alg":"EdDSA","kid":key_id,"typ":"allowly-receipt+jws"}`; header and payload are written in
/// the canonical form (so the same payload always gives the same receipt) and base64url-encoded without padding,
/// and the Ed25519 signature covers the ASCII bytes `protected + "." + payload`. The payload must be an object and
/// hold only values the verifier accepts (no floats, no unsafe integers, bounded depth); its fields are not
/// checked here.
pub fn sign_receipt_jws(
    payload: &serde_json::Value,
    key_id: &str,
    key: &SigningKey,
) -> Result<serde_json::Value, VerificationError> {
    if !payload.is_object() {
        return Err(VerificationError::new(VerificationErrorKind::Schema, "JWS payload must be an object"));
    }
    if key_id.is_empty() {
        return Err(VerificationError::new(VerificationErrorKind::Schema, "JWS header kid must be a non-empty string"));
    }
    let mut header = Object::new();
    header.insert("alg", Value::String(super::jws::JWS_ALG.into()));
    header.insert("kid", Value::String(key_id.into()));
    header.insert("typ", Value::String(super::jws::JWS_TYP.into()));
    let protected = URL_SAFE_NO_PAD.encode(canonical::canonicalize(&Value::Object(header))?);
    let payload = URL_SAFE_NO_PAD.encode(canonical::canonicalize(&Value::from(payload))?);
    let signature = key.sign(format!("{protected}.{payload}").as_bytes());
    Ok(serde_json::json!({
        "protected": protected,
        "payload": payload,
        "signature": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
    }))
}
