//! The digest of a tool call's arguments (`arguments_sha256`), which binds an approval to one call.
//!
//! Arguments are whatever a tool takes, so unlike a policy's documents they routinely hold fractions (`12.5`) and
//! are sometimes large (a file's contents). Refusing those would leave such calls unbound (or make a gate deny them),
//! so this form accepts every JSON value: objects sorted by UTF-16 key order and strings escaped as in core's
//! canonical JSON (so an integer-only document digests exactly as before), integers written exactly, and other
//! numbers in ECMAScript's shortest form as RFC 8785 does (`1.0` and `1` are the same number, `1e21` is `1e+21`).
//! The digest never leaves the client except as 64 hex digits, and every binding computes it here, so the form only
//! has to be deterministic and injective, not a published standard.

use crate::receipt::canonical::{cmp_utf16, write_string};
use serde_json::{Number, Value};

/// Lowercase hex SHA-256 of the arguments' canonical form (see the module doc).
pub fn arguments_sha256(arguments: &Value) -> String {
    let mut out = Vec::new();
    write_value(arguments, &mut out);
    super::digest::sha256_hex(&out)
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| cmp_utf16(a, b));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(&map[key], out);
            }
            out.push(b'}');
        }
    }
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    if let Some(i) = n.as_i64() {
        out.extend_from_slice(i.to_string().as_bytes());
    } else if let Some(u) = n.as_u64() {
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(f) = n.as_f64() {
        out.extend_from_slice(ecmascript_number(f).as_bytes());
    } else {
        // Arbitrary-precision numbers (a serde_json feature core does not enable) keep their text.
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// ECMAScript's `Number::toString` of a finite double (serde_json holds no NaN or infinity): the shortest digits that
/// round-trip, placed as that algorithm places them.
fn ecmascript_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    // `{:e}` prints the shortest round-tripping digits as `d[.ddd]e<exp>`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    let n = exp.parse::<i32>().expect("LowerExp exponent is an integer") + 1;
    let mut s = String::new();
    if x < 0.0 {
        s.push('-');
    }
    if k <= n && n <= 21 {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        s.push_str(&digits[..n as usize]);
        s.push('.');
        s.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-n) as usize));
        s.push_str(&digits);
    } else {
        s.push_str(&digits[..1]);
        if k > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if n > 0 { '+' } else { '-' });
        s.push_str(&(n - 1).abs().to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn form(v: &Value) -> String {
        let mut out = Vec::new();
        write_value(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_print_as_ecmascript_does() {
        // Expected strings are JavaScript's `String(x)` for each value (RFC 8785's number serialization).
        let cases = [
            (1.5, "1.5"),
            (1.0, "1"),
            (-0.0, "0"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (-1.25e-9, "-1.25e-9"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (333333333.3333333, "333333333.3333333"),
        ];
        for (x, want) in cases {
            assert_eq!(ecmascript_number(x), want, "{x:e}");
        }
    }

    #[test]
    fn integers_stay_exact_and_keys_sort_by_utf16() {
        assert_eq!(form(&json!({"b": 9007199254740993u64, "a": -3})), r#"{"a":-3,"b":9007199254740993}"#);
        assert_eq!(form(&json!({"\u{e9}": 1, "z": [true, null, "x"]})), "{\"z\":[true,null,\"x\"],\"\u{e9}\":1}");
        assert_eq!(form(&json!({"n": 2.0})), form(&json!({"n": 2})), "one number, one digest");
    }

    #[test]
    fn integer_documents_digest_as_core_canonical_json_does() {
        let doc = json!({"amount": 5, "memo": "é\n\"q\"", "to": ["alice", {"k": -1}]});
        let canonical = crate::receipt::canonical::canonicalize(&crate::receipt::json::Value::from(&doc)).unwrap();
        assert_eq!(form(&doc).into_bytes(), canonical);
    }

    #[test]
    fn fractions_and_large_arguments_have_a_digest() {
        let a = arguments_sha256(&json!({"amount": 12.5}));
        assert_eq!(a.len(), 64);
        assert_ne!(a, arguments_sha256(&json!({"amount": 12.25})));
        let big = json!({"content": "x".repeat(1 << 20)});
        assert_eq!(arguments_sha256(&big).len(), 64);
    }
}
