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

/// Options of [`fetch_keys_doc`]; every one defaults to core's (`KeysDocOptions::default()`, the hosted base URL).
#[napi(object)]
pub struct FetchKeysDocOptions {
    pub base_url: Option<String>,
    /// Hex SHA-256 of the exact document bytes, pinned out of band; other bytes throw `KeyDocumentError`.
    pub expected_sha256: Option<String>,
    /// How long a fetched document is reused for the same URL and pin; 0 fetches every time.
    pub cache_ttl_seconds: Option<f64>,
    /// Allow `http://` (local development only).
    pub allow_insecure_http: Option<bool>,
}

/// Fetches a workspace's key document through core's `client::fetch_keys_doc` (no credentials, HTTPS unless allowed,
/// no redirects, the pin, a strict document naming this workspace) and resolves with it as an object, the shape the
/// official 0.8.0 SDK returns and `loadKeysFromJson` takes.
#[napi]
pub async fn fetch_keys_doc(workspace_id: String, options: Option<FetchKeysDocOptions>) -> Result<serde_json::Value> {
    let options = options.unwrap_or(FetchKeysDocOptions {
        base_url: None,
        expected_sha256: None,
        cache_ttl_seconds: None,
        allow_insecure_http: None,
    });
    let mut opts = allowly_core::client::KeysDocOptions {
        expected_sha256: options.expected_sha256,
        allow_insecure_http: options.allow_insecure_http.unwrap_or(false),
        ..Default::default()
    };
    if let Some(ttl) = options.cache_ttl_seconds {
        opts.cache_ttl = std::time::Duration::try_from_secs_f64(ttl)
            .map_err(|_| config_error("cacheTtlSeconds must be a non-negative number".into()))?;
    }
    let base_url = options.base_url.unwrap_or_else(|| allowly_core::client::DEFAULT_BASE_URL.to_owned());
    let text = allowly_core::client::fetch_keys_doc(&base_url, &workspace_id, &opts).await.napi()?;
    // Core has already read the text strictly as a key document, so this parse cannot lose anything it checked.
    serde_json::from_str(&text)
        .map_err(|e| to_napi(allowly_core::Error::Protocol { message: format!("key document: {e}") }))
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

/// `email_hmac:v1:` + base64url(HMAC-SHA256(pepper, normalized email)); identical in every language. The pepper is
/// text (its UTF-8 bytes) or bytes, and `version` defaults to core's one scheme, as the official 0.8.0 SDK takes them;
/// any other version is a `ValidationError` from core.
#[napi]
pub fn identifier_from_email(email: String, pepper: Either<String, Buffer>, version: Option<String>) -> Result<String> {
    let pepper: &[u8] = match &pepper {
        Either::A(text) => text.as_bytes(),
        Either::B(bytes) => bytes,
    };
    let version = version.as_deref().unwrap_or(allowly_core::identifiers::EMAIL_HMAC_VERSION);
    allowly_core::identifiers::from_email_with(&email, pepper, version).napi()
}
