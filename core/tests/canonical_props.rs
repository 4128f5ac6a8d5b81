//! Properties of the strict parser and the canonical form over arbitrary JSON, with the characters that break naive
//! canonicalizers (control characters, supplementary-plane and U+E000..U+FFFF characters, quotes, backslashes).

use std::cmp::Ordering;

use allowly_core::receipt::canonical::{canonicalize, cmp_utf16};
use allowly_core::receipt::json::{self, MAX_SAFE_INTEGER, Number, Object, Value};
use proptest::prelude::*;

fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        Just('"'),
        Just('\\'),
        Just('/'),
        Just('\u{7f}'),
        prop::char::range('a', 'e'),
        prop::char::range('\u{80}', '\u{7ff}'),
        prop::char::range('\u{e000}', '\u{ffff}'),
        prop::char::range('\u{10000}', '\u{10ffff}'),
        any::<char>(),
    ]
}

fn tricky_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..max).prop_map(|cs| cs.into_iter().collect())
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).prop_map(|n| Value::Number(Number::Int(n))),
        prop_oneof![Just(MAX_SAFE_INTEGER), Just(-MAX_SAFE_INTEGER), Just(0i64), -1000i64..1000]
            .prop_map(|n| Value::Number(Number::Int(n))),
        tricky_string(12).prop_map(|s| Value::String(s.into())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((tricky_string(6), inner), 0..6).prop_map(|members| {
                let mut obj = Object::new();
                for (k, v) in members {
                    obj.insert(k, v);
                }
                Value::Object(obj)
            }),
        ]
    })
}

/// Every object's member names, in the order they appear, must be strictly increasing in UTF-16 order.
fn assert_keys_sorted(v: &Value) {
    match v {
        Value::Array(items) => items.iter().for_each(assert_keys_sorted),
        Value::Object(obj) => {
            let names: Vec<&str> = obj.iter().map(|(k, _)| k.as_str().unwrap()).collect();
            for w in names.windows(2) {
                assert_eq!(
                    w[0].encode_utf16().cmp(w[1].encode_utf16()),
                    Ordering::Less,
                    "{:?} before {:?}",
                    w[0],
                    w[1]
                );
            }
            obj.iter().for_each(|(_, v)| assert_keys_sorted(v));
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn canonical_form_is_a_fixed_point(v in value()) {
        let c = canonicalize(&v).expect("valid values canonicalize");
        let reparsed = json::parse(&c).expect("canonical output is strict JSON");
        prop_assert_eq!(canonicalize(&reparsed).unwrap(), c.clone());
        assert_keys_sorted(&reparsed);
        // Only the documented escapes appear: no whitespace outside strings is checked by serde below,
        // no short escapes like \n, and every byte below 0x20 is escaped.
        let text = String::from_utf8(c.clone()).unwrap();
        prop_assert!(!c.iter().any(|&b| b < 0x20));
        for short in ["\\n", "\\t", "\\r", "\\b", "\\f", "\\/"] {
            let bare = text.replace("\\\\", "");
            prop_assert!(!bare.contains(short), "short escape {} in {}", short, text);
        }
    }

    #[test]
    fn canonical_form_means_the_same_value(v in value()) {
        let c = canonicalize(&v).unwrap();
        let via_serde: serde_json::Value = serde_json::from_slice(&c).expect("serde_json reads canonical output");
        prop_assert_eq!(Some(via_serde), v.to_serde());
    }

    #[test]
    fn formatting_does_not_change_canonical_bytes(v in value()) {
        let serde = v.to_serde().unwrap();
        let pretty = serde_json::to_vec_pretty(&serde).unwrap();
        let reparsed = json::parse(&pretty).unwrap();
        prop_assert_eq!(canonicalize(&reparsed).unwrap(), canonicalize(&v).unwrap());
        prop_assert_eq!(canonicalize(&Value::from(&serde)).unwrap(), canonicalize(&v).unwrap());
    }

    #[test]
    fn utf16_comparison_matches_transcoding(a in tricky_string(8), b in tricky_string(8)) {
        prop_assert_eq!(cmp_utf16(&a, &b), a.encode_utf16().cmp(b.encode_utf16()));
        let prefix = format!("{a}{b}");
        prop_assert_eq!(cmp_utf16(&a, &prefix), a.encode_utf16().cmp(prefix.encode_utf16()));
    }

    #[test]
    fn parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = json::parse(&bytes);
    }

    #[test]
    fn parser_never_panics_on_json_like_text(
        tokens in prop::collection::vec(
            prop_oneof![
                Just("{"), Just("}"), Just("["), Just("]"), Just(","), Just(":"), Just("\""), Just("\\"),
                Just("\\u"), Just("d800"), Just("\\udc00"), Just("1"), Just("-"), Just("0"), Just("."), Just("e"),
                Just("true"), Just("nul"), Just(" "), Just("\"a\""), Just("é"), Just("\u{1F600}"), Just("\u{0}"),
            ],
            0..64,
        )
    ) {
        let text: String = tokens.concat();
        if let Ok(v) = json::parse(text.as_bytes()) {
            // Whatever parses either canonicalizes or is refused with an error, never a panic.
            let _ = canonicalize(&v);
        }
    }

    #[test]
    fn mutated_canonical_text_never_panics(v in value(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut c = canonicalize(&v).unwrap();
        if !c.is_empty() {
            let i = at.index(c.len());
            c[i] = byte;
        }
        if let Ok(parsed) = json::parse(&c) {
            let _ = canonicalize(&parsed);
        }
    }
}
