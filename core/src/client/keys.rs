//! `GET /v1/workspaces/{workspace_id}/keys`: the public key document receipts are verified against.

use reqwest::Method;

use super::Client;
use super::transport::Call;
use crate::error::Result;
use crate::model::validate_id;

impl Client {
    /// The workspace's key document as the exact text the server sent (the route needs no auth; sending the bearer is
    /// harmless). Parse it with the receipt module's key-document loader, which is strict on the raw text.
    pub async fn workspace_keys_json(&self, workspace_id: &str) -> Result<String> {
        validate_id("workspace_id", workspace_id)?;
        let call = Call::new(
            Method::GET,
            "GET /v1/workspaces/{workspace_id}/keys",
            vec!["v1", "workspaces", workspace_id, "keys"],
        );
        self.transport().call_text(call).await
    }
}

/// How long [`fetch_keys_doc`] reuses a fetched document by default: the official 0.8.0 SDK's five minutes, short
/// enough that a rotated key is seen soon, long enough that verifying a batch does not refetch per receipt.
pub const DEFAULT_KEYS_DOC_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// How [`fetch_keys_doc`] fetches a workspace's key document.
#[derive(Debug, Clone)]
pub struct KeysDocOptions {
    /// Lowercase or uppercase hex SHA-256 of the exact document bytes the caller pinned (out of band); a document
    /// with other bytes is refused, so a compromised server cannot swap the keys receipts are checked against.
    pub expected_sha256: Option<String>,
    /// How long a fetched document is reused for the same URL and pin; zero fetches every time.
    pub cache_ttl: std::time::Duration,
    /// Allow `http://` (local development only).
    pub allow_insecure_http: bool,
    pub timeout: std::time::Duration,
}

impl Default for KeysDocOptions {
    fn default() -> Self {
        Self {
            expected_sha256: None,
            cache_ttl: DEFAULT_KEYS_DOC_CACHE_TTL,
            allow_insecure_http: false,
            timeout: std::time::Duration::from_secs(10),
        }
    }
}

type DocCache = std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, String)>>;

fn doc_cache() -> &'static DocCache {
    static CACHE: std::sync::OnceLock<DocCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// `GET {base_url}/v1/workspaces/{workspace_id}/keys` without credentials (the document is public), as the exact
/// text: HTTPS only unless allowed, no redirects, 200 only, the pinned SHA-256 when given, a strict key document
/// naming `workspace_id`. Cached per URL and pin for `cache_ttl`.
pub async fn fetch_keys_doc(base_url: &str, workspace_id: &str, opts: &KeysDocOptions) -> Result<String> {
    use crate::error::{Error, VerificationError, VerificationErrorKind};
    validate_id("workspace_id", workspace_id)?;
    let mut url = url::Url::parse(base_url.trim_end_matches('/'))
        .map_err(|_| Error::Config { message: "base_url is not a valid URL".into() })?;
    match url.scheme() {
        "https" => {}
        "http" if opts.allow_insecure_http => {}
        _ => return Err(Error::Config { message: "the key document must be fetched over HTTPS".into() }),
    }
    url.path_segments_mut()
        .map_err(|_| Error::Config { message: "base_url cannot carry a path".into() })?
        .pop_if_empty()
        .extend(["v1", "workspaces", workspace_id, "keys"]);
    let pin = opts.expected_sha256.as_deref().map(str::to_ascii_lowercase);
    if pin.as_deref().is_some_and(|p| p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(Error::invalid_input("expected_sha256", "must be 64 hex characters"));
    }
    let cache_key = format!("{url}\n{}", pin.as_deref().unwrap_or(""));
    if let Some((at, text)) = doc_cache().lock().expect("cache lock").get(&cache_key)
        && at.elapsed() < opts.cache_ttl
    {
        return Ok(text.clone());
    }
    let key_doc_error = |m: String| Error::Verification(VerificationError::new(VerificationErrorKind::KeyDocument, m));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(opts.timeout)
        .build()
        .map_err(|e| Error::Config { message: format!("cannot build the HTTP client: {}", e.without_url()) })?;
    let resp = http.get(url.clone()).send().await.map_err(|e| {
        if e.is_timeout() {
            Error::Timeout { message: "fetching the key document timed out".into() }
        } else {
            Error::Network { message: format!("fetching the key document: {}", e.without_url()) }
        }
    })?;
    if resp.status().as_u16() != 200 {
        return Err(key_doc_error(format!("fetching the key document: expected HTTP 200, got {}", resp.status())));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::Network { message: format!("reading the key document: {}", e.without_url()) })?;
    if let Some(pin) = &pin {
        let mut digest = String::new();
        crate::receipt::keys::push_hex(&mut digest, &<sha2::Sha256 as sha2::Digest>::digest(&body));
        if &digest != pin {
            return Err(key_doc_error("the key document's SHA-256 does not match the pinned one".into()));
        }
    }
    let keys = crate::receipt::load_keys_from_json(&body)?;
    if keys.workspace_id != workspace_id {
        return Err(key_doc_error(format!("the key document names workspace {}", keys.workspace_id)));
    }
    let text = String::from_utf8(body.to_vec()).map_err(|_| key_doc_error("the key document is not UTF-8".into()))?;
    if !opts.cache_ttl.is_zero() {
        doc_cache().lock().expect("cache lock").insert(cache_key, (std::time::Instant::now(), text.clone()));
    }
    Ok(text)
}
