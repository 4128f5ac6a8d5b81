//! Pseudonymous user identifiers derived from email addresses.
//!
//! Receipts are signed and kept for years, so raw emails must never be used as `user_id` (receipt format §10.6).
//! `from_email` gives apps a stable, opaque id instead: `email_hmac:v1:` + unpadded base64url of
//! HMAC-SHA256(pepper, normalize(email)). The normalization must equal Python's `email.strip().lower()` exactly,
//! because ids computed by the official Python tools and by every binding of this SDK must agree byte for byte.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Prefix of every id produced by [`from_email`]; the version lets the scheme change without colliding.
pub const EMAIL_HMAC_V1_PREFIX: &str = "email_hmac:v1:";

/// The one identifier scheme version this SDK (and the official 0.8.0 SDK) knows; [`from_email_with`] refuses others
/// rather than produce an id another version's tools would not reproduce.
pub const EMAIL_HMAC_VERSION: &str = "v1";

/// Python's `str.isspace()` set, which `str.strip()` removes. It differs from Rust's `char::is_whitespace`
/// (Unicode `White_Space`) by including the information separators U+001C..U+001F.
fn is_python_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{09}'..='\u{0d}'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Trim Python-whitespace from both ends and lowercase with full Unicode case mapping (as `str.lower()` does,
/// including the final-sigma rule).
pub fn normalize_email(email: &str) -> String {
    email.trim_matches(is_python_whitespace).to_lowercase()
}

/// [`normalize_email`] refusing an address that is empty once trimmed (a [`Error::Validation`] on `email`), which is
/// what the official 0.8.0 SDK's `normalize_email` does and what [`from_email_with`] hashes.
pub fn normalize_email_checked(email: &str) -> Result<String> {
    let normalized = normalize_email(email);
    if normalized.is_empty() {
        return Err(Error::invalid_input("email", "email must not be empty"));
    }
    Ok(normalized)
}

/// Derive the opaque `user_id` for an email address.
///
/// Errors with a [`Error::Validation`] when the email is empty after trimming or the pepper is empty: an empty
/// pepper would make ids guessable by anyone, so it is refused rather than silently accepted. Neither the email
/// nor the pepper appears in the error message.
pub fn from_email(email: &str, pepper: &str) -> Result<String> {
    from_email_with(email, pepper.as_bytes(), EMAIL_HMAC_VERSION)
}

/// [`from_email`] with the pepper as raw bytes (a text pepper is its UTF-8 bytes, so both spellings of one pepper give
/// one id) and the scheme version spelled out, as the official 0.8.0 SDK takes them. Only `v1` exists.
pub fn from_email_with(email: &str, pepper: &[u8], version: &str) -> Result<String> {
    if version != EMAIL_HMAC_VERSION {
        return Err(Error::invalid_input("version", "unsupported email identifier version (only v1 exists)"));
    }
    let normalized = normalize_email_checked(email)?;
    if pepper.is_empty() {
        return Err(Error::invalid_input("pepper", "pepper must not be empty"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper).expect("HMAC-SHA256 accepts keys of any length");
    mac.update(normalized.as_bytes());
    let digest = mac.finalize().into_bytes();
    Ok(format!("{EMAIL_HMAC_V1_PREFIX}{}", URL_SAFE_NO_PAD.encode(digest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_python_whitespace_including_separators() {
        assert_eq!(normalize_email("\u{1c}\u{3000} A@B.c \u{85}\u{1f}"), "a@b.c");
    }

    #[test]
    fn lowercases_with_full_mapping() {
        // U+0130 lowercases to two code points under full case mapping, as in Python.
        assert_eq!(normalize_email("\u{130}X"), "i\u{307}x");
    }

    #[test]
    fn a_bytes_pepper_is_its_text_and_only_v1_exists() {
        let text = from_email("A@b.c", "pepper-1").expect("id");
        assert_eq!(from_email_with("A@b.c", b"pepper-1", "v1").expect("id"), text);
        // A pepper that is not UTF-8 text is still a key.
        assert!(from_email_with("a@b.c", &[0xff, 0x00, 0x80], "v1").expect("id").starts_with(EMAIL_HMAC_V1_PREFIX));
        let err = from_email_with("a@b.c", b"p", "v2").unwrap_err();
        assert!(err.to_string().contains("version"), "{err}");
        assert!(from_email_with("a@b.c", b"", "v1").is_err());
    }

    #[test]
    fn error_messages_never_contain_secrets() {
        let err = from_email("   ", "super-secret-pepper").unwrap_err();
        assert!(!err.to_string().contains("super-secret-pepper"));
        let err = from_email("someone@example.com", "").unwrap_err();
        assert!(!err.to_string().contains("someone@example.com"));
        assert_eq!(err.code(), "invalid_input");
    }
}
