//! Offline verification, key documents and identifiers: synchronous, CPU-only calls into core.

use allowly_core::receipt as core;
use allowly_core::receipt::VerifyOptions;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use time::OffsetDateTime;

use crate::error::{IntoNapi, to_napi};
use crate::model::VerifiedReceipt;

/// A workspace's public keys, loaded from a key document. Opaque; pass it to `verifyReceipt`.
#[napi]
pub struct KeySet {
    pub(crate) inner: core::KeySet,
}

impl KeySet {
    pub(crate) fn from_json_bytes(bytes: &[u8]) -> Result<KeySet> {
        Ok(KeySet { inner: core::load_keys_from_json(bytes).napi()? })
    }
}

#[napi]
impl KeySet {
    #[napi(getter)]
    pub fn workspace_id(&self) -> String {
        self.inner.to_json()["workspace_id"].as_str().unwrap_or_default().to_owned()
    }

    /// `sha256:<hex>` fingerprints of the keys, in document order (to pin with `trustedFingerprints`).
    #[napi]
    pub fn fingerprints(&self) -> Vec<String> {
        self.inner.fingerprints()
    }

    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }

    /// The key document (public data only).
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> serde_json::Value {
        self.inner.to_json()
    }
}

/// Loads a key document from its exact JSON text (the strict parser sees the bytes, duplicates included).
#[napi]
pub fn load_keys_from_json_text(json: Either<String, Buffer>) -> Result<KeySet> {
    match &json {
        Either::A(text) => KeySet::from_json_bytes(text.as_bytes()),
        Either::B(bytes) => KeySet::from_json_bytes(bytes),
    }
}

#[napi(object)]
pub struct VerifyReceiptOptions {
    /// The workspace you expect; both the receipt and the key document must name it.
    pub expected_workspace_id: Option<String>,
    /// `sha256:<hex>` fingerprints you trust; empty or absent trusts every key in the key set.
    pub trusted_fingerprints: Option<Vec<String>>,
    /// The instant treated as now (RFC 3339 or ms since the epoch); defaults to the system clock.
    pub now: Option<Either<String, f64>>,
    /// How far `issued_at` may lie ahead of now (default 300 000).
    pub max_future_skew_ms: Option<u32>,
}

fn verify_options(options: Option<VerifyReceiptOptions>) -> Result<VerifyOptions> {
    let mut out = VerifyOptions::default();
    let Some(o) = options else { return Ok(out) };
    out.expected_workspace_id = o.expected_workspace_id;
    out.trusted_fingerprints = o.trusted_fingerprints.unwrap_or_default();
    if let Some(skew) = o.max_future_skew_ms {
        out.max_future_skew = std::time::Duration::from_millis(u64::from(skew));
    }
    out.now = match o.now {
        None => None,
        Some(Either::A(text)) => Some(
            OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .map_err(|e| config_error(format!("now is not an RFC 3339 instant: {e}")))?,
        ),
        Some(Either::B(millis)) => Some(
            OffsetDateTime::from_unix_timestamp_nanos((millis as i128) * 1_000_000)
                .map_err(|e| config_error(format!("now is out of range: {e}")))?,
        ),
    };
    Ok(out)
}

fn config_error(message: String) -> napi::Error {
    to_napi(allowly_core::Error::Config { message })
}

/// Verifies one receipt's exact JSON text; throws a `VerificationError` (code = its kind) if it is not valid.
#[napi]
pub fn verify_receipt_text(
    json: Either<String, Buffer>,
    keys: &KeySet,
    options: Option<VerifyReceiptOptions>,
) -> Result<VerifiedReceipt> {
    let options = verify_options(options)?;
    let bytes: &[u8] = match &json {
        Either::A(text) => text.as_bytes(),
        Either::B(buffer) => buffer,
    };
    let v = core::verify_receipt_json(bytes, &keys.inner, &options).napi()?;
    Ok(v.into())
}

/// `email_hmac:v1:` + base64url(HMAC-SHA256(pepper, normalized email)); identical in every language.
#[napi]
pub fn identifier_from_email(email: String, pepper: String) -> Result<String> {
    allowly_core::identifiers::from_email(&email, &pepper).napi()
}
