//! Wire 5: the flattened JWS envelope around a receipt payload.
//!
//! A wire-5 receipt is a JSON object with exactly three string members, `protected`, `payload` and `signature`,
//! each canonical unpadded base64url. `protected` decodes to the header `{"alg":"EdDSA","kid":…,
//! "typ":"allowly-receipt+jws"}` (exactly those members), `payload` to the receipt's fields (checked by
//! `schema5`), `signature` to the 64-byte Ed25519 signature over the ASCII bytes
//! `protected + "." + payload`. Unlike wire 4, the signed bytes are the transmitted text itself, so nothing is
//! re-serialized to verify; the decoded JSON is still parsed strictly ([`super::json`]) and held to the same value
//! rules (integers only within ±(2^53−1), no unpaired surrogates, depth ≤ 32, ≤ 50,000 nodes), so that two
//! verifiers cannot read different fields out of one signed payload.
//!
//! Anything that is not an object with exactly those three string members is not wire 5 and goes to the wire-4
//! path unchanged ([`is_jws`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::canonical;
use super::json::{self, JsonString, Object, Value, quote};
use super::schema::{schema, type_error};
use crate::error::{VerificationError, VerificationErrorKind};

/// The header's `alg`.
pub const JWS_ALG: &str = "EdDSA";
/// The header's `typ`.
pub const JWS_TYP: &str = "allowly-receipt+jws";
/// Largest accepted envelope: the three members together, in characters (as the reference verifier counts).
pub const MAX_JWS_CHARS: usize = 8 * 1024 * 1024;

const MEMBERS: [&str; 3] = ["protected", "payload", "signature"];

/// The three members of a wire-5 receipt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Envelope<'a> {
    pub protected: &'a JsonString,
    pub payload: &'a JsonString,
    pub signature: &'a JsonString,
}

/// Whether `receipt` has the shape of a wire-5 receipt: an object with exactly the members `protected`, `payload`
/// and `signature`, all strings. Everything else is judged by the wire-4 rules.
pub fn is_jws(receipt: &Value) -> bool {
    envelope(receipt).is_some()
}

pub(crate) fn envelope(receipt: &Value) -> Option<Envelope<'_>> {
    let obj = receipt.as_object()?;
    if obj.len() != 3 {
        return None;
    }
    let member = |name: &str| match obj.get(name) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    Some(Envelope { protected: member(MEMBERS[0])?, payload: member(MEMBERS[1])?, signature: member(MEMBERS[2])? })
}

fn malformed(msg: impl Into<String>) -> VerificationError {
    VerificationError::new(VerificationErrorKind::Malformed, msg)
}

/// Canonical unpadded base64url of any length: URL alphabet only, no `=`, zero unused trailing bits (the base64
/// engine refuses non-zero trailing bits and lengths of 1 mod 4, so exactly one text maps to each byte string).
fn decode_b64(member: &str, text: &JsonString) -> Result<Vec<u8>, VerificationError> {
    let err = || {
        malformed(format!(
            "JWS {member} is not canonical unpadded base64url (alphabet A-Z a-z 0-9 - _, no padding, zero pad bits)"
        ))
    };
    let text = text.as_str().ok_or_else(err)?;
    // The engine refuses every byte outside the URL-safe alphabet, any `=` and non-zero pad bits by itself.
    URL_SAFE_NO_PAD.decode(text).map_err(|_| err())
}

fn decode_json(member: &str, text: &JsonString) -> Result<Value, VerificationError> {
    let bytes = decode_b64(member, text)?;
    let value = json::parse(&bytes).map_err(|e| malformed(format!("JWS {member}: {}", e.message)))?;
    canonical::validate(&value).map_err(|e| malformed(format!("JWS {member}: {}", e.message)))?;
    Ok(value)
}

/// A decoded envelope: the header's `kid`, the payload value and the signature bytes. Nothing is verified yet.
pub(crate) struct Decoded {
    pub kid: String,
    pub payload: Value,
    pub signature: [u8; 64],
}

fn check_size(env: &Envelope<'_>) -> Result<(), VerificationError> {
    let members = [env.protected, env.payload, env.signature];
    // A character is at least one byte, so within the limit in bytes means within it in characters.
    if members.iter().map(|s| s.as_str().map_or(usize::MAX / 4, str::len)).sum::<usize>() <= MAX_JWS_CHARS {
        return Ok(());
    }
    let chars: usize = members.iter().map(|s| s.lossy().chars().count()).sum();
    if chars > MAX_JWS_CHARS {
        return Err(schema(format!("JWS exceeds the size limit of {MAX_JWS_CHARS} characters")));
    }
    Ok(())
}

/// Decodes and checks the envelope: sizes, base64url, strict JSON of header and payload, the exact header, the
/// signature length, and that the payload is an object. The payload's fields are left to [`super::schema5`].
pub(crate) fn decode(env: &Envelope<'_>) -> Result<Decoded, VerificationError> {
    check_size(env)?;
    let header = decode_json("protected", env.protected)?;
    let payload = decode_json("payload", env.payload)?;
    let signature = decode_b64("signature", env.signature)?;
    let kid = check_header(&header)?;
    let signature: [u8; 64] = signature.as_slice().try_into().map_err(|_| {
        schema(format!("JWS signature must decode to exactly 64 bytes (Ed25519), got {} bytes", signature.len()))
    })?;
    if !matches!(payload, Value::Object(_)) {
        return Err(type_error("JWS payload", "an object", &payload));
    }
    Ok(Decoded { kid: kid.to_owned(), payload, signature })
}

/// Only the payload (for checkpoints, whose members are verified separately): base64url, strict JSON, an object.
pub(crate) fn decode_payload(env: &Envelope<'_>) -> Result<Value, VerificationError> {
    check_size(env)?;
    let payload = decode_json("payload", env.payload)?;
    if !matches!(payload, Value::Object(_)) {
        return Err(type_error("JWS payload", "an object", &payload));
    }
    Ok(payload)
}

/// The header must be exactly `{"alg":"EdDSA","kid":<non-empty string>,"typ":"allowly-receipt+jws"}` (in any
/// member order and spacing; the signature covers its exact text). Returns the `kid`.
fn check_header(header: &Value) -> Result<&str, VerificationError> {
    let Value::Object(h) = header else {
        return Err(type_error("JWS protected header", "an object", header));
    };
    exact(h)?;
    let alg = h.get("alg").and_then(Value::as_str);
    let typ = h.get("typ").and_then(Value::as_str);
    if alg != Some(JWS_ALG) || typ != Some(JWS_TYP) {
        let show = |v: Option<&Value>| match v {
            Some(Value::String(s)) => quote(s.lossy()),
            Some(other) => other.type_name().to_owned(),
            None => "missing".to_owned(),
        };
        return Err(schema(format!(
            "unsupported JWS alg {} or typ {} (must be \"{JWS_ALG}\" and \"{JWS_TYP}\")",
            show(h.get("alg")),
            show(h.get("typ"))
        )));
    }
    match h.get("kid") {
        Some(Value::String(s)) if !s.lossy().is_empty() => Ok(s.as_str().expect("validated: no lone surrogates")),
        _ => Err(schema("JWS header kid must be a non-empty string")),
    }
}

fn exact(h: &Object) -> Result<(), VerificationError> {
    super::schema::exact_members(h, &["alg", "kid", "typ"], "JWS protected header")
}

/// The signed bytes, `protected + "." + payload`, appended to `out` (both members are ASCII once decoded).
pub(crate) fn signing_input_into(env: &Envelope<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(env.protected.lossy().as_bytes());
    out.push(b'.');
    out.extend_from_slice(env.payload.lossy().as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_value(p: &str, q: &str, s: &str) -> Value {
        let mut o = Object::new();
        o.insert("protected", Value::String(p.into()));
        o.insert("payload", Value::String(q.into()));
        o.insert("signature", Value::String(s.into()));
        Value::Object(o)
    }

    #[test]
    fn shape_dispatch() {
        assert!(is_jws(&env_value("a", "b", "c")));
        let mut o = env_value("a", "b", "c").as_object().unwrap().clone();
        o.insert("extra", Value::Null);
        assert!(!is_jws(&Value::Object(o)));
        let mut o = env_value("a", "b", "c").as_object().unwrap().clone();
        o.insert("payload", Value::Null);
        assert!(!is_jws(&Value::Object(o)));
        assert!(!is_jws(&Value::Null));
    }

    #[test]
    fn base64_must_be_canonical() {
        assert!(decode_b64("x", &"AQ".into()).is_ok());
        for bad in ["AQ==", "AR", "A", "A+", "A/", "AQ\n"] {
            let e = decode_b64("x", &bad.into()).unwrap_err();
            assert_eq!(e.kind, VerificationErrorKind::Malformed, "{bad}");
        }
    }
}
