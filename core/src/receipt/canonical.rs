//! The canonical byte form that signatures and Merkle leaves are computed over.
//!
//! Two verifiers only agree on a signature if they produce the same bytes, so this module is deliberately the
//! only serializer used for signing and verification. Everything that could make the bytes ambiguous (non-integers,
//! unsafe integers, unpaired surrogates) or make serialization unbounded (depth, node count) is rejected by a
//! bounded validation pass *before* any bytes are written; the writer itself is then infallible.

use std::cmp::Ordering;

use super::json::{JsonString, MAX_SAFE_INTEGER, Number, Object, Value};
use crate::error::{VerificationError, VerificationErrorKind};

/// Deepest allowed payload value; the payload root is depth 1.
pub const MAX_DEPTH: usize = 32;
/// Most values allowed in a payload (root, every array item and every member value; names do not count).
pub const MAX_NODES: usize = 50_000;

fn malformed(msg: impl Into<String>) -> VerificationError {
    VerificationError::new(VerificationErrorKind::Malformed, msg)
}

/// Orders strings by UTF-16 code units, the order the format mandates for object keys.
///
/// UTF-8 byte order equals code point order, which differs from UTF-16 order only when a supplementary-plane
/// character (UTF-16 high surrogate D800–DBFF) meets a character in U+E000..=U+FFFF at the first difference. So a
/// byte comparison plus a check of the two lead bytes at that position is exact, and needs no transcoding.
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let Some(i) = x.iter().zip(y).position(|(p, q)| p != q) else {
        return x.len().cmp(&y.len());
    };
    // Equal prefixes put both strings on the same character boundary; find the lead byte of the differing char.
    let mut s = i;
    while s > 0 && (x[s] & 0xC0) == 0x80 {
        s -= 1;
    }
    let (lx, ly) = (x[s], y[s]);
    if lx >= 0xF0 && (ly == 0xEE || ly == 0xEF) {
        Ordering::Less
    } else if ly >= 0xF0 && (lx == 0xEE || lx == 0xEF) {
        Ordering::Greater
    } else {
        x[i].cmp(&y[i])
    }
}

/// Checks every rule of the canonical form without writing anything. Recursion is bounded by [`MAX_DEPTH`] + 1
/// frames because the depth check fires before descending.
pub fn validate(value: &Value) -> Result<(), VerificationError> {
    let mut nodes = 0;
    check(value, 1, &mut nodes)
}

fn validate_root(obj: &Object, skip: Option<&str>) -> Result<(), VerificationError> {
    let mut nodes = 1;
    for (name, v) in obj.members() {
        if skip.is_some() && name.as_str() == skip {
            continue;
        }
        check_name(name)?;
        check(v, 2, &mut nodes)?;
    }
    Ok(())
}

#[inline]
fn check_name(name: &JsonString) -> Result<(), VerificationError> {
    if name.has_unpaired_surrogate() {
        return Err(malformed(format!("member name '{}' contains an unpaired unicode surrogate", name.lossy())));
    }
    Ok(())
}

fn check(value: &Value, depth: usize, nodes: &mut usize) -> Result<(), VerificationError> {
    *nodes += 1;
    if depth > MAX_DEPTH {
        return Err(malformed(format!("payload nesting exceeds max depth {MAX_DEPTH}")));
    }
    if *nodes > MAX_NODES {
        return Err(malformed(format!("payload exceeds max nodes {MAX_NODES}")));
    }
    match value {
        Value::Null | Value::Bool(_) | Value::Number(Number::Int(_)) => Ok(()),
        Value::Number(Number::NonInteger(raw)) => {
            Err(malformed(format!("non-integer number {raw} is not allowed (integers only)")))
        }
        Value::Number(Number::UnsafeInteger(raw)) => {
            Err(malformed(format!("integer {raw} is outside the I-JSON safe range ±{MAX_SAFE_INTEGER} (2^53-1)")))
        }
        Value::String(s) => {
            if s.has_unpaired_surrogate() {
                Err(malformed(format!("string '{}' contains an unpaired unicode surrogate", s.lossy())))
            } else {
                Ok(())
            }
        }
        Value::Array(items) => items.iter().try_for_each(|v| check(v, depth + 1, nodes)),
        Value::Object(obj) => obj.members().iter().try_for_each(|(k, v)| {
            check_name(k)?;
            check(v, depth + 1, nodes)
        }),
    }
}

/// Canonical bytes of any value.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, VerificationError> {
    let mut out = Vec::with_capacity(512);
    canonicalize_into(value, &mut out)?;
    Ok(out)
}

/// Appends the canonical bytes of `value` to `out` (reuse one buffer across receipts to avoid allocating).
/// On error nothing is appended.
pub fn canonicalize_into(value: &Value, out: &mut Vec<u8>) -> Result<(), VerificationError> {
    validate(value)?;
    write_value(value, out);
    Ok(())
}

/// The signed bytes: the receipt without its top-level `signature` member.
pub fn payload_bytes(receipt: &Object) -> Result<Vec<u8>, VerificationError> {
    let mut out = Vec::with_capacity(512);
    payload_bytes_into(receipt, &mut out)?;
    Ok(out)
}

/// Appends the signed bytes of `receipt` to `out`.
pub fn payload_bytes_into(receipt: &Object, out: &mut Vec<u8>) -> Result<(), VerificationError> {
    validate_root(receipt, Some("signature"))?;
    write_object(receipt, Some("signature"), out);
    Ok(())
}

/// The full receipt, signature included: what a checkpoint's Merkle leaves commit to.
pub fn full_bytes(receipt: &Object) -> Result<Vec<u8>, VerificationError> {
    let mut out = Vec::with_capacity(600);
    full_bytes_into(receipt, &mut out)?;
    Ok(out)
}

/// Appends the full canonical bytes of `receipt` to `out`.
pub fn full_bytes_into(receipt: &Object, out: &mut Vec<u8>) -> Result<(), VerificationError> {
    validate_root(receipt, None)?;
    write_object(receipt, None, out);
    Ok(())
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(Number::Int(n)) => write_int(*n, out),
        // Unreachable after validation; written verbatim rather than panicking.
        Value::Number(Number::NonInteger(raw) | Number::UnsafeInteger(raw)) => out.extend_from_slice(raw.as_bytes()),
        Value::String(s) => write_string(s.lossy(), out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(v, out);
            }
            out.push(b']');
        }
        Value::Object(obj) => write_object(obj, None, out),
    }
}

/// Receipt-sized objects sort an index array on the stack; larger ones fall back to a heap vector.
fn write_object(obj: &Object, skip: Option<&str>, out: &mut Vec<u8>) {
    let members = obj.members();
    let name = |i: usize| members[i].0.lossy();
    out.push(b'{');
    let mut first = true;
    let mut emit = |i: usize, out: &mut Vec<u8>| {
        let (k, v) = &members[i];
        if skip.is_some() && k.as_str() == skip {
            return;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_string(k.lossy(), out);
        out.push(b':');
        write_value(v, out);
    };
    const STACK: usize = 32;
    if members.len() <= STACK {
        let mut idx = [0u8; STACK];
        let n = members.len();
        for i in 0..n {
            // Insertion sort: optimal for ~15 mostly short keys.
            let mut j = i;
            while j > 0 && cmp_utf16(name(idx[j - 1] as usize), name(i)) == Ordering::Greater {
                idx[j] = idx[j - 1];
                j -= 1;
            }
            idx[j] = i as u8;
        }
        for &i in &idx[..n] {
            emit(i as usize, out);
        }
    } else {
        let mut idx: Vec<usize> = (0..members.len()).collect();
        idx.sort_unstable_by(|&a, &b| cmp_utf16(name(a), name(b)));
        for i in idx {
            emit(i, out);
        }
    }
    out.push(b'}');
}

fn write_int(n: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Escapes only `"`, `\` and U+0000..=U+001F (always as lowercase `\u00xx`); everything else is raw UTF-8.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xF) as usize]]),
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Whether any byte must be escaped (a control character, `"` or `\\`). Receipt strings almost never need it; this
/// decides it eight bytes per step with the classic "has a zero byte / a byte below n" word tests, which are exact for
/// "is there any such byte", and the escaping loop runs only when there is one.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let has_byte_below_0x20 = |x: u64| x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        if has_byte_below_0x20(x)
            || has_zero_byte(x ^ (ONES * u64::from(b'"')))
            || has_zero_byte(x ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::json::parse;

    fn canon(s: &str) -> Result<String, VerificationError> {
        canonicalize(&parse(s.as_bytes()).unwrap()).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn utf16_order_puts_supplementary_before_high_bmp() {
        assert_eq!(cmp_utf16("\u{1F600}", "\u{FF61}"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{FF61}", "\u{1F600}"), Ordering::Greater);
        assert_eq!(cmp_utf16("a\u{1F600}", "a\u{E000}"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{1F600}", "\u{D7FF}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{1F600}", "\u{1F601}"), Ordering::Less);
        assert_eq!(cmp_utf16("ab", "abc"), Ordering::Less);
        assert_eq!(cmp_utf16("é", "é"), Ordering::Equal);
        let samples = [
            "",
            "a",
            "z",
            "é",
            "\u{7FF}",
            "\u{800}",
            "\u{D7FF}",
            "\u{E000}",
            "\u{FFFF}",
            "\u{10000}",
            "\u{1F600}",
            "\u{10FFFF}",
            "a\u{FF61}",
            "a\u{1F600}b",
            "ab",
        ];
        for a in samples {
            for b in samples {
                assert_eq!(cmp_utf16(a, b), a.encode_utf16().cmp(b.encode_utf16()), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn sorts_keys_recursively_and_keeps_arrays() {
        assert_eq!(
            canon(r#"{"b":1,"a":{"\uff61":1,"\ud83d\ude00":2,"A":3},"c":[3,1,2]}"#).unwrap(),
            "{\"a\":{\"A\":3,\"\u{1F600}\":2,\"\u{FF61}\":1},\"b\":1,\"c\":[3,1,2]}"
        );
    }

    #[test]
    fn escapes_only_what_the_profile_requires() {
        assert_eq!(
            canon(r#""q\" b\\ n\n t\t nul\u0000 us\u001f del\u007f é /""#).unwrap(),
            "\"q\\\" b\\\\ n\\u000a t\\u0009 nul\\u0000 us\\u001f del\u{7f} é /\""
        );
    }

    #[test]
    fn escapes_a_special_byte_at_every_position_of_a_long_string() {
        // The no-escape fast path scans in chunks: a special byte in any chunk, at any offset, must still be escaped.
        for special in ['"', '\\', '\n', '\u{1f}'] {
            for len in [1usize, 31, 32, 33, 64, 100] {
                for at in 0..len {
                    let mut text: String = "x".repeat(len);
                    text.replace_range(at..at + 1, &special.to_string());
                    let mut out = Vec::new();
                    write_string(&text, &mut out);
                    let escaped = match special {
                        '"' => "\\\"".to_owned(),
                        '\\' => "\\\\".to_owned(),
                        c => format!("\\u{:04x}", c as u32),
                    };
                    let expected = format!("\"{}{escaped}{}\"", "x".repeat(at), "x".repeat(len - at - 1));
                    assert_eq!(String::from_utf8(out).unwrap(), expected, "{special:?} at {at} of {len}");
                }
            }
        }
        let mut out = Vec::new();
        write_string(&"é/~\u{7f}".repeat(20), &mut out);
        assert_eq!(out, format!("\"{}\"", "é/~\u{7f}".repeat(20)).into_bytes());
    }

    #[test]
    fn numbers() {
        assert_eq!(
            canon("[-0,0,-9007199254740991,9007199254740991]").unwrap(),
            "[0,0,-9007199254740991,9007199254740991]"
        );
        assert!(canon("[9007199254740992]").unwrap_err().message.contains("safe range"));
        assert!(canon("[-9007199254740992]").unwrap_err().message.contains("safe range"));
        assert!(canon("{\"a\":1.0}").unwrap_err().message.contains("non-integer number"));
        assert!(canon("[1e2]").unwrap_err().message.contains("non-integer number"));
    }

    #[test]
    fn limits() {
        let at_limit = format!("{}1{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(canon(&at_limit).is_ok());
        let over = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(canon(&over).unwrap_err().message.contains("max depth"));
        let wide = format!("[{}0]", "0,".repeat(MAX_NODES - 2));
        assert!(canon(&wide).is_ok());
        let too_wide = format!("[{}0]", "0,".repeat(MAX_NODES - 1));
        let e = canon(&too_wide).unwrap_err();
        assert!(e.message.contains("max nodes"));
        assert_eq!(e.kind, VerificationErrorKind::Malformed);
    }

    #[test]
    fn surrogates_rejected_in_values_and_names() {
        assert!(canon(r#"["\ud800"]"#).unwrap_err().message.contains("unpaired unicode surrogate"));
        assert!(canon(r#"{"\udc00":1}"#).unwrap_err().message.contains("unpaired unicode surrogate"));
    }

    #[test]
    fn payload_drops_only_top_level_signature() {
        let v = parse(br#"{"signature":"x","b":{"signature":1},"a":2}"#).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(payload_bytes(o).unwrap(), br#"{"a":2,"b":{"signature":1}}"#);
        assert_eq!(full_bytes(o).unwrap(), br#"{"a":2,"b":{"signature":1},"signature":"x"}"#);
    }
}
