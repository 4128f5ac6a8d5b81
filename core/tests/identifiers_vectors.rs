//! Every `from_email` vector in tests/conformance/identifiers must match byte for byte (or fail with its message).

use allowly_core::identifiers::from_email;

#[test]
fn every_identifier_vector_matches() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/identifiers/email-hmac-v1.json");
    let vectors: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("identifier vectors are committed")).unwrap();
    assert!(vectors.len() >= 9, "expected the full vector set");
    let (mut ok, mut errors) = (0, 0);
    for v in &vectors {
        let email = v["email"].as_str().unwrap();
        let pepper = v["pepper"].as_str().unwrap();
        match (v.get("user_id"), v.get("error")) {
            (Some(expected), None) => {
                assert_eq!(from_email(email, pepper).unwrap(), expected.as_str().unwrap(), "vector {v}");
                ok += 1;
            }
            (None, Some(message)) => {
                let err = from_email(email, pepper).unwrap_err();
                assert!(err.to_string().contains(message.as_str().unwrap()), "vector {v}: got {err}");
                assert_eq!(err.code(), "invalid_input");
                errors += 1;
            }
            _ => panic!("vector has neither user_id nor error: {v}"),
        }
    }
    assert_eq!((ok, errors), (7, 2));
}
