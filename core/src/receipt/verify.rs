//! Verification of one receipt (steps 1–8 of the format), shared by the single and the batch paths.
//!
//! Both wires go through `prepare`: a receipt shaped as a JWS (see [`super::jws`]) is wire 5 and is checked by
//! `prepare_jws` (envelope, header, `schema5`, then the same caller, timestamp and key steps, with the
//! key named by the header's `kid`); anything else follows the wire-4 steps, unchanged. Either way the message
//! the equation covers ends up in the caller's buffer: the canonical payload (wire 4) or `protected.payload`
//! (wire 5).
//!
//! The work is split at the only expensive step: `prepare` does everything up to and including key selection and
//! writes the canonical payload into a caller-supplied buffer; the Ed25519 equation is checked afterwards, either
//! one receipt at a time or many at once in [`super::batch`]. Both paths therefore reject exactly the same receipts
//! for every reason except the signature equation itself.
//!
//! Signature semantics: standard RFC 8032 verification via `VerifyingKey::verify` (cofactorless, canonical `s`,
//! `R` compared by its encoding), not `verify_strict`. What `verify_strict` adds is a refusal of small-order keys
//! (key documents already refuse those, and keys with any torsion component) and of a small-order `R` (which only
//! the key holder can produce, and which the batch equation would accept, so refusing it in single verification
//! only would make the two paths disagree). `prepare` also refuses a non-canonically encoded `R`, which single
//! verification rejects implicitly and the batch equation would not.

use std::cell::RefCell;
use std::ops::Range;
use std::time::Duration;

use ed25519_dalek::{Signature, Verifier};
use time::OffsetDateTime;

use super::canonical;
use super::json::{self, Value, quote};
use super::jws;
use super::keys::{KeySet, PublicKeyEntry};
use super::schema::{self, Fields};
use super::schema5;
use super::timestamp::{self, TimestampError};
use crate::error::{VerificationError, VerificationErrorKind};

/// The caller's trust decisions and clock.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The workspace the caller expects; both the receipt and the key document must name it.
    pub expected_workspace_id: Option<String>,
    /// `sha256:<hex>` fingerprints the caller trusts; empty means "trust every key in the key set".
    pub trusted_fingerprints: Vec<String>,
    /// The instant treated as now; `None` reads the system clock once per call.
    pub now: Option<OffsetDateTime>,
    /// How far `issued_at` may lie ahead of now (issuer and verifier clocks drift).
    pub max_future_skew: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            expected_workspace_id: None,
            trusted_fingerprints: Vec::new(),
            now: None,
            max_future_skew: Duration::from_secs(5 * 60),
        }
    }
}

impl VerifyOptions {
    /// The latest acceptable `issued_at`, in Unix milliseconds.
    pub(crate) fn latest_issued_at_millis(&self) -> i64 {
        let now = timestamp::to_unix_millis(self.now.unwrap_or_else(OffsetDateTime::now_utc));
        now.saturating_add(i64::try_from(self.max_future_skew.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Whether a receipt records a decision or an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// A check decision.
    Action,
    /// Create, revoke, settle, confirmation or checkpoint.
    Event,
}

impl ReceiptKind {
    /// `"action"` or `"event"`, in every language.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::Action => "action",
            ReceiptKind::Event => "event",
        }
    }
}

/// What a valid receipt attests, for callers that do not want to walk the JSON again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedReceipt {
    /// The wire version the receipt was verified under: `"4"` (a plain receipt object) or `"5"` (a JWS).
    pub schema_version: String,
    pub receipt_id: String,
    pub workspace_id: String,
    pub kind: ReceiptKind,
    /// The `action` of an action receipt or the `event` of an event receipt.
    pub name: String,
    pub decision: String,
    pub reason: String,
    pub authorization_id: Option<String>,
    pub key_id: String,
    pub issued_at: String,
}

/// What a prepared receipt attests: wire 4 borrows from the receipt, wire 5 owns what it decoded.
pub(crate) enum Info<'r> {
    Wire4(Fields<'r>),
    Wire5(Box<VerifiedReceipt>),
}

/// A receipt that passed every check but the signature equation.
pub(crate) struct Prepared<'r, 'k> {
    pub info: Info<'r>,
    pub key: &'k PublicKeyEntry,
    pub signature: Signature,
    /// Where the canonical payload lies in the buffer handed to `prepare`.
    pub message: Range<usize>,
}

impl Prepared<'_, '_> {
    /// What the receipt attests (wire 5 hands over what `prepare` already decoded, without copying it).
    pub fn into_verified(self) -> VerifiedReceipt {
        let f = match self.info {
            Info::Wire4(f) => f,
            Info::Wire5(v) => return *v,
        };
        VerifiedReceipt {
            schema_version: schema::SCHEMA_VERSION.to_owned(),
            receipt_id: f.receipt_id.to_owned(),
            workspace_id: f.workspace_id.to_owned(),
            kind: f.kind,
            name: f.name.to_owned(),
            decision: f.decision.to_owned(),
            reason: f.reason.to_owned(),
            authorization_id: f.authorization_id.map(str::to_owned),
            key_id: f.key_id.to_owned(),
            issued_at: f.issued_at.to_owned(),
        }
    }

    /// The single-signature equation.
    pub fn check_signature(&self, buf: &[u8]) -> Result<(), VerificationError> {
        self.key.public_key.verify(&buf[self.message.clone()], &self.signature).map_err(|_| signature_failed())
    }
}

pub(crate) fn signature_failed() -> VerificationError {
    VerificationError::new(VerificationErrorKind::SignatureMismatch, "signature verification failed")
}

/// Whether the 32-byte `R` half of a signature is the canonical encoding of a curve point's y-coordinate and sign.
/// Single verification rejects non-canonical `R` implicitly (it compares re-encoded bytes); the batch equation
/// decodes `R` and would not, so both paths reject it here.
fn r_is_canonical(sig: &[u8; 64]) -> bool {
    let r = &sig[..32];
    let sign = r[31] & 0x80 != 0;
    let mut y = [0u8; 32];
    y.copy_from_slice(r);
    y[31] &= 0x7F;
    // y >= p = 2^255 - 19
    let y_ge_p = y[31] == 0x7F && y[1..31].iter().all(|&b| b == 0xFF) && y[0] >= 0xED;
    // x = 0 (y = 1 or y = p - 1) has only the encoding with a clear sign bit.
    let is_one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
    let is_minus_one = y[0] == 0xEC && y[31] == 0x7F && y[1..31].iter().all(|&b| b == 0xFF);
    !(y_ge_p || (sign && (is_one || is_minus_one)))
}

/// Steps 1–7 short of the Ed25519 equation; appends the canonical payload to `buf`.
pub(crate) fn prepare<'r, 'k>(
    receipt: &'r Value,
    keys: &'k KeySet,
    opts: &VerifyOptions,
    latest_issued_at: i64,
    buf: &mut Vec<u8>,
) -> Result<Prepared<'r, 'k>, VerificationError> {
    if let Some(env) = jws::envelope(receipt) {
        return prepare_jws(&env, keys, opts, latest_issued_at, buf);
    }

    // Steps 1–4.
    let fields = schema::check_structure(receipt)?;
    check_workspace(fields.workspace_id, keys, opts)?;
    let issued_at = check_issued_at(fields.issued_at, latest_issued_at)?;

    // Step 6: canonical payload.
    let start = buf.len();
    canonical::payload_bytes_into(fields.obj, buf)?;
    let message = start..buf.len();

    // Step 7: key selection and trust (the equation is left to the caller).
    let key = select_key(fields.key_id, issued_at, keys, opts)?;
    if !r_is_canonical(&fields.signature) {
        return Err(signature_failed());
    }
    let signature = Signature::from_bytes(&fields.signature);
    Ok(Prepared { info: Info::Wire4(fields), key, signature, message })
}

/// Wire 5: the envelope and header, the payload's rules, then the same caller, time and key checks as wire 4, with
/// the key named by the header's `kid`; appends `protected.payload` to `buf`.
fn prepare_jws<'r, 'k>(
    env: &jws::Envelope<'_>,
    keys: &'k KeySet,
    opts: &VerifyOptions,
    latest_issued_at: i64,
    buf: &mut Vec<u8>,
) -> Result<Prepared<'r, 'k>, VerificationError> {
    let decoded = jws::decode(env)?;
    let fields = schema5::check_structure(&decoded.payload)?;
    check_workspace(fields.workspace_id, keys, opts)?;
    let issued_at = check_issued_at(fields.issued_at, latest_issued_at)?;
    let key = select_key(&decoded.kid, issued_at, keys, opts)?;
    if !r_is_canonical(&decoded.signature) {
        return Err(signature_failed());
    }
    let start = buf.len();
    jws::signing_input_into(env, buf);
    let message = start..buf.len();
    let verified = VerifiedReceipt {
        schema_version: schema5::SCHEMA_VERSION_5.to_owned(),
        receipt_id: fields.receipt_id.to_owned(),
        workspace_id: fields.workspace_id.to_owned(),
        kind: fields.kind,
        name: fields.name.to_owned(),
        decision: fields.decision.to_owned(),
        reason: fields.reason.to_owned(),
        authorization_id: fields.authorization_id.map(str::to_owned),
        key_id: decoded.kid.clone(),
        issued_at: fields.issued_at.to_owned(),
    };
    let signature = Signature::from_bytes(&decoded.signature);
    Ok(Prepared { info: Info::Wire5(Box::new(verified)), key, signature, message })
}

/// Caller trust: the receipt, the key document and the caller must agree on the workspace.
fn check_workspace(workspace_id: &str, keys: &KeySet, opts: &VerifyOptions) -> Result<(), VerificationError> {
    let expected = opts.expected_workspace_id.as_deref();
    if workspace_id != keys.workspace_id || expected.is_some_and(|e| e != keys.workspace_id) {
        return Err(VerificationError::new(
            VerificationErrorKind::WorkspaceMismatch,
            format!(
                "workspace mismatch: receipt workspace_id {}, key document workspace_id {}{}",
                quote(workspace_id),
                quote(&keys.workspace_id),
                expected.map(|e| format!(", expected {}", quote(e))).unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// Step 5: the exact timestamp profile, a real instant, not beyond now plus the allowed skew.
fn check_issued_at(text: &str, latest_issued_at: i64) -> Result<i64, VerificationError> {
    let issued_at = timestamp::parse_millis(text)
        .map_err(|e: TimestampError| e.into_error(VerificationErrorKind::Timestamp, "issued_at", text))?;
    if issued_at > latest_issued_at {
        return Err(VerificationError::new(
            VerificationErrorKind::Timestamp,
            format!("issued_at is in the future: {text} is beyond now plus the allowed clock skew"),
        ));
    }
    Ok(issued_at)
}

/// Step 7 short of the equation: the key, the caller's trust in it, and its active window.
fn select_key<'k>(
    key_id: &str,
    issued_at: i64,
    keys: &'k KeySet,
    opts: &VerifyOptions,
) -> Result<&'k PublicKeyEntry, VerificationError> {
    let key = keys.get(key_id).ok_or_else(|| {
        VerificationError::new(
            VerificationErrorKind::UnknownKey,
            format!("no public key found for key_id {}", quote(key_id)),
        )
    })?;
    if !opts.trusted_fingerprints.is_empty() && !opts.trusted_fingerprints.contains(&key.fingerprint) {
        return Err(VerificationError::new(
            VerificationErrorKind::UntrustedKey,
            format!(
                "public key fingerprint {} of key '{}' is not among the trusted fingerprints",
                key.fingerprint, key.key_id
            ),
        ));
    }
    key.contains_instant(issued_at)?;
    Ok(key)
}

thread_local! {
    /// One payload buffer per thread: verifying allocates nothing for the canonical bytes after warm-up.
    static PAYLOAD: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

/// Runs `f` with this thread's payload buffer (or a fresh one if it is already in use).
pub(crate) fn with_buffer<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    PAYLOAD.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let out = f(&mut buf);
            if buf.capacity() > 1 << 20 {
                *buf = Vec::with_capacity(1024);
            }
            out
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// Verifies one parsed receipt (steps 1–8). See the module docs for the signature semantics.
pub fn verify_receipt(
    receipt: &Value,
    keys: &KeySet,
    opts: &VerifyOptions,
) -> Result<VerifiedReceipt, VerificationError> {
    let latest = opts.latest_issued_at_millis();
    with_buffer(|buf| {
        let prepared = prepare(receipt, keys, opts, latest, buf)?;
        prepared.check_signature(buf)?;
        Ok(prepared.into_verified())
    })
}

/// Strictly parses (duplicate names, number spelling, surrogates...) and verifies one receipt.
pub fn verify_receipt_json(
    bytes: &[u8],
    keys: &KeySet,
    opts: &VerifyOptions,
) -> Result<VerifiedReceipt, VerificationError> {
    verify_receipt(&json::parse(bytes)?, keys, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_r() {
        let mut sig = [0u8; 64];
        assert!(r_is_canonical(&sig));
        sig[0] = 1;
        sig[31] = 0x80; // y = 1 with the sign bit set
        assert!(!r_is_canonical(&sig));
        let mut p = [0xFFu8; 64];
        p[0] = 0xED;
        p[31] = 0x7F; // y = p
        assert!(!r_is_canonical(&p));
        p[0] = 0xEC; // y = p - 1, sign clear
        assert!(r_is_canonical(&p));
        p[31] = 0xFF; // y = p - 1, sign set
        assert!(!r_is_canonical(&p));
    }
}
