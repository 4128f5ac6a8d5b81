//! Offline verification, key documents and identifiers: CPU-only calls into core, and the one networked call that
//! fetches a key document.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use allowly_core::receipt as core;
use time::OffsetDateTime;

use crate::error::{AllowlyError, Result};
use crate::model::VerifiedReceipt;

/// A workspace's public keys, loaded from a key document. Opaque; pass it to `verify_receipt_json`.
#[derive(Debug, uniffi::Object)]
pub struct KeySet {
    inner: core::KeySet,
}

#[uniffi::export]
impl KeySet {
    pub fn workspace_id(&self) -> String {
        self.inner.to_json()["workspace_id"].as_str().unwrap_or_default().to_owned()
    }

    /// `sha256:<hex>` fingerprints in document order (to pin with `trusted_fingerprints`).
    pub fn fingerprints(&self) -> Vec<String> {
        self.inner.fingerprints()
    }

    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }

    /// The key document as JSON text (public data only).
    pub fn to_json(&self) -> String {
        self.inner.to_json().to_string()
    }
}

/// Loads a key document from its exact JSON text (the strict parser sees duplicates and number spellings).
#[uniffi::export]
pub fn load_keys_from_json(json: String) -> Result<Arc<KeySet>> {
    Ok(Arc::new(KeySet { inner: core::load_keys_from_json(json.as_bytes())? }))
}

/// How [`fetch_keys_doc`] fetches; every field defaults to core's (`KeysDocOptions::default()`, the hosted base URL).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FetchKeysDocOptions {
    #[uniffi(default = None)]
    pub base_url: Option<String>,
    /// Hex SHA-256 of the exact document bytes, pinned out of band; other bytes are a `key_document` verification
    /// error, so a compromised server cannot swap the keys receipts are checked against.
    #[uniffi(default = None)]
    pub expected_sha256: Option<String>,
    /// How long a fetched document is reused for the same URL and pin (zero fetches every time).
    #[uniffi(default = None)]
    pub cache_ttl: Option<Duration>,
    /// Allow `http://` (local development only).
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
}

/// Fetches a workspace's key document without credentials (the official 0.8.0 SDK's `fetch_keys_doc`, checked by
/// core: no redirects, the pin, a strict document naming this workspace) and returns its exact text, which
/// [`load_keys_from_json`] takes.
#[uniffi::export(async_runtime = "tokio")]
pub async fn fetch_keys_doc(workspace_id: String, options: FetchKeysDocOptions) -> Result<String> {
    let mut opts = allowly_core::client::KeysDocOptions {
        expected_sha256: options.expected_sha256,
        allow_insecure_http: options.allow_insecure_http,
        ..Default::default()
    };
    if let Some(ttl) = options.cache_ttl {
        opts.cache_ttl = ttl;
    }
    let base_url = options.base_url.unwrap_or_else(|| allowly_core::client::DEFAULT_BASE_URL.to_owned());
    Ok(allowly_core::client::fetch_keys_doc(&base_url, &workspace_id, &opts).await?)
}

/// The caller's trust decisions and clock.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifyOptions {
    /// The workspace you expect; both the receipt and the key document must name it.
    #[uniffi(default = None)]
    pub expected_workspace_id: Option<String>,
    /// Fingerprints you trust; empty trusts every key in the key set.
    #[uniffi(default = [])]
    pub trusted_fingerprints: Vec<String>,
    /// The instant treated as now; defaults to the system clock.
    #[uniffi(default = None)]
    pub now: Option<SystemTime>,
    /// How far `issued_at` may lie ahead of now (default 5 minutes).
    #[uniffi(default = None)]
    pub max_future_skew: Option<Duration>,
}

impl From<VerifyOptions> for core::VerifyOptions {
    fn from(o: VerifyOptions) -> Self {
        let mut out = core::VerifyOptions {
            expected_workspace_id: o.expected_workspace_id,
            trusted_fingerprints: o.trusted_fingerprints,
            now: o.now.map(OffsetDateTime::from),
            ..Default::default()
        };
        if let Some(skew) = o.max_future_skew {
            out.max_future_skew = skew;
        }
        out
    }
}

/// Verifies one receipt's exact JSON text; a `Verification` error (with its kind and code) if it is not valid.
#[uniffi::export]
pub fn verify_receipt_json(json: String, keys: Arc<KeySet>, options: VerifyOptions) -> Result<VerifiedReceipt> {
    let v = core::verify_receipt_json(json.as_bytes(), &keys.inner, &options.into())?;
    Ok(v.into())
}

/// `email_hmac:v1:` + base64url(HMAC-SHA256(pepper, normalized email)); identical in every language.
#[uniffi::export]
pub fn from_email(email: String, pepper: String) -> Result<String, AllowlyError> {
    Ok(allowly_core::identifiers::from_email(&email, &pepper)?)
}

/// [`from_email`] with the pepper as raw bytes (a text pepper is its UTF-8 bytes, so both give one id) and the scheme
/// version (`None` = core's one version, `v1`), as the official 0.8.0 SDK takes them; another version is a
/// `Validation` error. UniFFI has no overloads, so the Kotlin and Swift layers present it as a `fromEmail` overload.
#[uniffi::export]
pub fn from_email_bytes(email: String, pepper: Vec<u8>, version: Option<String>) -> Result<String, AllowlyError> {
    let version = version.as_deref().unwrap_or(allowly_core::identifiers::EMAIL_HMAC_VERSION);
    Ok(allowly_core::identifiers::from_email_with(&email, &pepper, version)?)
}
