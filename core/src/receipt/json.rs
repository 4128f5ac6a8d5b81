//! Strict, lossless JSON for signed artifacts.
//!
//! General-purpose parsers normalise away exactly the things a receipt verifier must see: they keep the last of two
//! duplicate member names, round `9007199254740993` to a double, turn `1.0` into `1`, and either refuse or silently
//! repair an unpaired `\uD800`. Each of those would let two verifiers disagree about which bytes were signed. This
//! parser keeps what the input said (number spelling class, unpaired surrogates) so the verifier can reject it with
//! the precise reason, and it refuses the ambiguities (duplicate names, BOM, trailing bytes) outright.

use std::fmt;

/// Parser recursion cap. Far above the payload limit of 32 so the verifier, not the parser, reports receipts that are
/// merely too deep; low enough that hostile input cannot exhaust the stack.
pub const MAX_PARSE_DEPTH: usize = 512;

/// Largest integer magnitude every IEEE-754 consumer represents exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A parsed JSON value that remembers what the canonical form forbids instead of hiding it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(JsonString),
    Array(Vec<Value>),
    Object(Object),
}

/// A number token, classified at parse time because the spelling is lost afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Number {
    /// An integer token (no fraction, no exponent) within ±(2^53 − 1).
    Int(i64),
    /// A token with a fraction or exponent, kept verbatim (`1.0` and `1e0` are not integers on the wire).
    NonInteger(String),
    /// An integer token outside the safe range, kept verbatim.
    UnsafeInteger(String),
}

impl Number {
    /// Classifies a signed integer by the safe-range rule.
    pub fn from_i128(n: i128) -> Number {
        if n.unsigned_abs() <= MAX_SAFE_INTEGER as u128 {
            Number::Int(n as i64)
        } else {
            Number::UnsafeInteger(n.to_string())
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(n) => write!(f, "{n}"),
            Number::NonInteger(raw) | Number::UnsafeInteger(raw) => f.write_str(raw),
        }
    }
}

/// A JSON string. Rust `String`s cannot hold an unpaired surrogate, yet the verifier must be able to *see* one to
/// reject it, so such strings keep their exact UTF-16 code units beside a lossy rendering.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct JsonString {
    text: String,
    /// `Some` exactly when the string contains an unpaired surrogate; then `text` has U+FFFD in its place.
    units: Option<Box<[u16]>>,
}

impl JsonString {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), units: None }
    }

    /// Builds from UTF-16 code units, keeping them verbatim if they are not well-formed.
    pub fn from_utf16(units: &[u16]) -> Self {
        match String::from_utf16(units) {
            Ok(text) => Self::new(text),
            Err(_) => Self { text: String::from_utf16_lossy(units), units: Some(units.into()) },
        }
    }

    /// The text, or `None` if it contains an unpaired surrogate (such a string is not Unicode text).
    #[inline]
    pub fn as_str(&self) -> Option<&str> {
        if self.units.is_none() { Some(&self.text) } else { None }
    }

    /// The text with U+FFFD in place of unpaired surrogates; for messages only.
    #[inline]
    pub fn lossy(&self) -> &str {
        &self.text
    }

    #[inline]
    pub fn has_unpaired_surrogate(&self) -> bool {
        self.units.is_some()
    }

    /// The exact code units, present only for strings with an unpaired surrogate.
    pub fn raw_utf16(&self) -> Option<&[u16]> {
        self.units.as_deref()
    }
}

impl From<String> for JsonString {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for JsonString {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl fmt::Display for JsonString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An object in input order. Member names are unique (the parser rejects duplicates and [`Object::insert`] replaces),
/// so canonicalization never has to choose between two values for one name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    members: Vec<(JsonString, Value)>,
}

impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    /// Linear lookup: receipts have about fifteen members, where a scan beats hashing.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.members.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name`, replacing an existing member in place; returns the old value.
    pub fn insert(&mut self, name: impl Into<JsonString>, value: Value) -> Option<Value> {
        let name = name.into();
        match self.members.iter_mut().find(|(k, _)| *k == name) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                self.members.push((name, value));
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let at = self.members.iter().position(|(k, _)| k.as_str() == Some(name))?;
        Some(self.members.remove(at).1)
    }

    #[inline]
    pub fn members(&self) -> &[(JsonString, Value)] {
        &self.members
    }

    pub fn iter(&self) -> impl Iterator<Item = (&JsonString, &Value)> {
        self.members.iter().map(|(k, v)| (k, v))
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// For callers that already guarantee unique names (the parser, serde maps).
    fn push_unique(&mut self, name: JsonString, value: Value) {
        self.members.push((name, value));
    }
}

impl Value {
    /// The string, if this is a well-formed string.
    #[inline]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => s.as_str(),
            _ => None,
        }
    }

    #[inline]
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    #[inline]
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The integer, if this is a safe-range integer token.
    #[inline]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(Number::Int(n)) => Some(*n),
            _ => None,
        }
    }

    #[inline]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A JSON type name for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(Number::Int(_) | Number::UnsafeInteger(_)) => "integer",
            Value::Number(Number::NonInteger(_)) => "non-integer number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Converts to serde_json, or `None` when serde_json cannot hold the value exactly (unpaired surrogates,
    /// integers beyond 64 bits, non-finite numbers).
    pub fn to_serde(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(Number::Int(n)) => serde_json::Value::from(*n),
            Value::Number(Number::UnsafeInteger(raw)) => {
                if let Ok(n) = raw.parse::<i64>() {
                    serde_json::Value::from(n)
                } else {
                    serde_json::Value::from(raw.parse::<u64>().ok()?)
                }
            }
            Value::Number(Number::NonInteger(raw)) => {
                serde_json::Value::Number(serde_json::Number::from_f64(raw.parse::<f64>().ok()?)?)
            }
            Value::String(s) => serde_json::Value::String(s.as_str()?.to_owned()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_serde).collect::<Option<Vec<_>>>()?)
            }
            Value::Object(obj) => {
                let mut map = serde_json::Map::with_capacity(obj.len());
                for (k, v) in obj.iter() {
                    map.insert(k.as_str()?.to_owned(), v.to_serde()?);
                }
                serde_json::Value::Object(map)
            }
        })
    }
}

/// serde_json has already lost the token spelling: every float becomes [`Number::NonInteger`] (even `1.0`), and
/// integers are classified by magnitude. Integer tokens beyond 64 bits arrive as floats and are thus non-integers.
impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(if let Some(i) = n.as_i64() {
                Number::from_i128(i as i128)
            } else if let Some(u) = n.as_u64() {
                Number::from_i128(u as i128)
            } else {
                Number::NonInteger(n.to_string())
            }),
            serde_json::Value::String(s) => Value::String(JsonString::new(s.as_str())),
            serde_json::Value::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            serde_json::Value::Object(map) => {
                let mut obj = Object { members: Vec::with_capacity(map.len()) };
                for (k, v) in map {
                    obj.push_unique(JsonString::new(k.as_str()), Value::from(v));
                }
                Value::Object(obj)
            }
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::from(&v)
    }
}

/// Debug-quotes untrusted text for an error message, cut to a length that keeps logs readable.
pub(crate) fn quote(s: &str) -> String {
    const MAX_CHARS: usize = 80;
    match s.char_indices().nth(MAX_CHARS) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
    }
}

mod parser;

pub use parser::parse;

impl Value {
    /// Writes the value back as JSON text exactly as parsed — number tokens verbatim, unpaired surrogates as `\uXXXX`
    /// escapes, members in input order — so invalid receipts can be saved and handed to another verifier unchanged.
    /// This is *not* the canonical form (see [`super::canonical`]).
    pub fn to_json_string(&self) -> String {
        let mut out = String::new();
        write_lossless(self, &mut out);
        out
    }
}

fn write_lossless(value: &Value, out: &mut String) {
    use std::fmt::Write as _;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_lossless(item, out);
            }
            out.push(']');
        }
        Value::Object(obj) => {
            out.push('{');
            for (i, (name, item)) in obj.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(name, out);
                out.push(':');
                write_lossless(item, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &JsonString, out: &mut String) {
    use std::fmt::Write as _;
    out.push('"');
    match s.raw_utf16() {
        Some(units) => {
            for unit in char::decode_utf16(units.iter().copied()) {
                match unit {
                    Ok(c) => push_escaped(c, out),
                    Err(e) => {
                        let _ = write!(out, "\\u{:04x}", e.unpaired_surrogate());
                    }
                }
            }
        }
        None => s.lossy().chars().for_each(|c| push_escaped(c, out)),
    }
    out.push('"');
}

fn push_escaped(c: char, out: &mut String) {
    use std::fmt::Write as _;
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if (c as u32) < 0x20 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}
