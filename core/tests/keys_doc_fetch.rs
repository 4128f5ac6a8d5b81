//! `fetch_keys_doc` against a local mock server: pinning, workspace binding, no redirects, HTTPS rule, cache.

use std::time::Duration;

use allowly_core::client::{KeysDocOptions, fetch_keys_doc};
use allowly_core::{Error, VerificationErrorKind};
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn key_document() -> String {
    // The first key of the public wire-4 vectors' key document.
    r#"{"workspace_id": "ws_test", "keys": [{"key_id": "test-key/v1", "alg": "Ed25519", "public_key": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik", "public_key_fingerprint": "sha256:139e3940e64b5491722088d9a0d741628fc826e09475d341a780acde3c4b8070", "active_from": "0001-01-01T00:00:00.000Z", "active_until": null}]}"#.to_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn opts(pin: Option<String>, ttl: u64) -> KeysDocOptions {
    KeysDocOptions {
        expected_sha256: pin,
        cache_ttl: Duration::from_secs(ttl),
        allow_insecure_http: true,
        timeout: Duration::from_secs(5),
    }
}

fn kind(e: &Error) -> Option<VerificationErrorKind> {
    match e {
        Error::Verification(v) => Some(v.kind),
        _ => None,
    }
}

#[tokio::test]
async fn pinned_documents_are_fetched_checked_and_cached() {
    let server = MockServer::start().await;
    let doc = key_document();
    Mock::given(method("GET"))
        .and(path("/v1/workspaces/ws_test/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_string(doc.clone()))
        .mount(&server)
        .await;
    let pin = hex(&Sha256::digest(doc.as_bytes()));
    let text = fetch_keys_doc(&server.uri(), "ws_test", &opts(Some(pin.to_uppercase()), 60)).await.expect("fetched");
    assert_eq!(text, doc, "the exact text");
    fetch_keys_doc(&server.uri(), "ws_test", &opts(Some(pin.clone()), 60)).await.expect("cached");
    assert_eq!(server.received_requests().await.expect("log").len(), 1, "the second call was served from the cache");

    let wrong = fetch_keys_doc(&server.uri(), "ws_test", &opts(Some("0".repeat(64)), 0)).await.unwrap_err();
    assert_eq!(kind(&wrong), Some(VerificationErrorKind::KeyDocument), "{wrong}");
    let bad_pin = fetch_keys_doc(&server.uri(), "ws_test", &opts(Some("xyz".into()), 0)).await.unwrap_err();
    assert!(matches!(bad_pin, Error::Validation { .. }), "{bad_pin:?}");
}

#[tokio::test]
async fn other_workspaces_redirects_and_plain_http_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/workspaces/ws_other/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_string(key_document()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/workspaces/ws_moved/keys"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/v1/workspaces/ws_test/keys"))
        .mount(&server)
        .await;
    let e = fetch_keys_doc(&server.uri(), "ws_other", &opts(None, 0)).await.unwrap_err();
    assert_eq!(kind(&e), Some(VerificationErrorKind::KeyDocument), "the document names ws_test: {e}");
    let e = fetch_keys_doc(&server.uri(), "ws_moved", &opts(None, 0)).await.unwrap_err();
    assert_eq!(kind(&e), Some(VerificationErrorKind::KeyDocument), "a redirect is not followed: {e}");
    let strict = KeysDocOptions { allow_insecure_http: false, ..opts(None, 0) };
    let e = fetch_keys_doc(&server.uri(), "ws_other", &strict).await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}
