//! The strict parser behind [`super::parse`]: recursive descent with an explicit depth cap, validating UTF-8 once
//! up front so string contents can be sliced without re-checking.

use super::{JsonString, MAX_PARSE_DEPTH, MAX_SAFE_INTEGER, Number, Object, Value};
use crate::error::{VerificationError, VerificationErrorKind};

fn malformed(msg: impl Into<String>) -> VerificationError {
    VerificationError::new(VerificationErrorKind::Malformed, msg)
}

/// Parses one JSON document strictly: UTF-8 without BOM, RFC 8259 grammar, unique member names, nothing after the
/// value but whitespace.
pub fn parse(bytes: &[u8]) -> Result<Value, VerificationError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(malformed("JSON text must not start with a byte order mark"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| malformed(format!("JSON text is not valid UTF-8 (at byte {})", e.valid_up_to())))?;
    let mut p = Parser { src: text, bytes, pos: 0 };
    p.skip_ws();
    let value = p.value(1)?;
    p.skip_ws();
    if p.pos != bytes.len() {
        return Err(malformed(format!("trailing characters after JSON value at byte {}", p.pos)));
    }
    Ok(value)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn unexpected(&self) -> VerificationError {
        match self.peek() {
            None => malformed("unexpected end of JSON input"),
            Some(b) if b.is_ascii_graphic() => {
                malformed(format!("unexpected character '{}' at byte {}", b as char, self.pos))
            }
            Some(b) => malformed(format!("unexpected byte 0x{b:02x} at byte {}", self.pos)),
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), VerificationError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, VerificationError> {
        if depth > MAX_PARSE_DEPTH {
            return Err(malformed(format!("JSON nesting exceeds the parser limit of {MAX_PARSE_DEPTH}")));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, VerificationError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(malformed(format!("invalid literal at byte {}", self.pos)))
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, VerificationError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, VerificationError> {
        self.pos += 1;
        let mut obj = Object::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(obj));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let name = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            obj.push_unique(name, value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    reject_duplicate_names(&obj)?;
                    return Ok(Value::Object(obj));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn number(&mut self) -> Result<Value, VerificationError> {
        let start = self.pos;
        let b = self.bytes;
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while matches!(b.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => return Err(malformed(format!("invalid number at byte {start}"))),
        }
        let int_digits = i - int_start;
        let mut integer = true;
        if b.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            let frac_start = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == frac_start {
                return Err(malformed(format!("invalid number at byte {start}: digits required after '.'")));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            integer = false;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exp_start = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == exp_start {
                return Err(malformed(format!("invalid number at byte {start}: exponent digits required")));
            }
        }
        self.pos = i;
        let raw = &self.src[start..i];
        if !integer {
            return Ok(Value::Number(Number::NonInteger(raw.to_owned())));
        }
        // 16 digits can exceed 2^53 − 1 but 18 always fit in i64, so parse those and range-check.
        if int_digits <= 18 {
            let n: i64 = raw.parse().map_err(|_| malformed(format!("invalid number at byte {start}")))?;
            if n.unsigned_abs() <= MAX_SAFE_INTEGER as u64 {
                return Ok(Value::Number(Number::Int(n)));
            }
        }
        Ok(Value::Number(Number::UnsafeInteger(raw.to_owned())))
    }

    fn hex4(&mut self) -> Result<u16, VerificationError> {
        let digits =
            self.bytes.get(self.pos..self.pos + 4).ok_or_else(|| malformed("unterminated \\u escape in string"))?;
        let mut v: u16 = 0;
        for &d in digits {
            let n = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(malformed(format!("invalid \\u escape at byte {}", self.pos))),
            };
            v = (v << 4) | n as u16;
        }
        self.pos += 4;
        Ok(v)
    }

    /// The escape after a backslash (already consumed): one character, or a surrogate that has no partner.
    fn escape(&mut self) -> Result<Unit, VerificationError> {
        let esc = self.peek().ok_or_else(|| malformed("unterminated string"))?;
        self.pos += 1;
        let ch = match esc {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return Err(malformed(format!("invalid escape '\\{}' in string", esc.escape_ascii()))),
        };
        Ok(Unit::Char(ch))
    }

    fn unicode_escape(&mut self) -> Result<Unit, VerificationError> {
        let high = self.hex4()?;
        if !(0xD800..=0xDFFF).contains(&high) {
            return Ok(Unit::Char(char::from_u32(high as u32).expect("non-surrogate BMP code unit")));
        }
        if high >= 0xDC00 || !self.bytes[self.pos..].starts_with(b"\\u") {
            return Ok(Unit::Lone(high));
        }
        let save = self.pos;
        self.pos += 2;
        let low = self.hex4()?;
        if !(0xDC00..=0xDFFF).contains(&low) {
            // Not a partner: leave the second escape to be read on its own.
            self.pos = save;
            return Ok(Unit::Lone(high));
        }
        let c = 0x10000 + (((high as u32) - 0xD800) << 10) + ((low as u32) - 0xDC00);
        Ok(Unit::Char(char::from_u32(c).expect("surrogate pair decodes to a scalar value")))
    }

    fn string(&mut self) -> Result<JsonString, VerificationError> {
        self.pos += 1; // opening quote
        let start = self.pos;
        // Fast path: no escapes. The input is valid UTF-8, so any byte range between ASCII delimiters is too. Receipt
        // strings can be long (a wire-5 payload is a kilobyte of base64url), hence memchr for the delimiter and one
        // branch-free pass for control characters.
        let Some(offset) = memchr::memchr2(b'"', b'\\', &self.bytes[start..]) else {
            return Err(self.unterminated_or_control(start));
        };
        let end = start + offset;
        if let Some(bad) = first_control(&self.bytes[start..end]) {
            self.pos = start + bad;
            return Err(self.control_character());
        }
        self.pos = end;
        if self.bytes[end] == b'"' {
            self.pos += 1;
            return Ok(JsonString::new(&self.src[start..end]));
        }
        let mut out = Builder { text: String::with_capacity(self.pos - start + 16), units: None };
        out.push_str(&self.src[start..self.pos]);
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(malformed("unterminated string")),
                Some(b'"') => {
                    out.push_str(&self.src[run..self.pos]);
                    self.pos += 1;
                    return Ok(out.finish());
                }
                Some(c) if c < 0x20 => return Err(self.control_character()),
                Some(b'\\') => {
                    out.push_str(&self.src[run..self.pos]);
                    self.pos += 1;
                    match self.escape()? {
                        Unit::Char(c) => out.push_char(c),
                        Unit::Lone(u) => out.push_lone(u),
                    }
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// No closing quote: the error single-byte scanning would have reported first.
    fn unterminated_or_control(&mut self, start: usize) -> VerificationError {
        match first_control(&self.bytes[start..]) {
            Some(bad) => {
                self.pos = start + bad;
                self.control_character()
            }
            None => malformed("unterminated string"),
        }
    }

    fn control_character(&self) -> VerificationError {
        malformed(format!("unescaped control character in string at byte {}", self.pos))
    }
}

/// The index of the first byte below 0x20, if any. The common case (none at all, in strings up to a kilobyte of
/// base64url) is decided eight bytes per step: `(x − 0x20…20) & !x & 0x80…80` is non-zero exactly when some byte of
/// `x` is below 0x20.
fn first_control(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut words = bytes.chunks_exact(8);
    let clean = words.all(|w| {
        let x = u64::from_le_bytes(w.try_into().expect("eight bytes"));
        x.wrapping_sub(ONES * 0x20) & !x & (ONES * 0x80) == 0
    }) && words.remainder().iter().all(|&b| b >= 0x20);
    if clean {
        return None;
    }
    bytes.iter().position(|&b| b < 0x20)
}

enum Unit {
    Char(char),
    Lone(u16),
}

/// Accumulates a string with escapes; switches to also recording UTF-16 units at the first unpaired surrogate.
struct Builder {
    text: String,
    units: Option<Vec<u16>>,
}

impl Builder {
    fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
        if let Some(u) = &mut self.units {
            u.extend(s.encode_utf16());
        }
    }

    fn push_char(&mut self, c: char) {
        self.text.push(c);
        if let Some(u) = &mut self.units {
            let mut buf = [0u16; 2];
            u.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }

    fn push_lone(&mut self, unit: u16) {
        let text = &self.text;
        self.units.get_or_insert_with(|| text.encode_utf16().collect()).push(unit);
        self.text.push(char::REPLACEMENT_CHARACTER);
    }

    fn finish(self) -> JsonString {
        JsonString { text: self.text, units: self.units.map(Vec::into_boxed_slice) }
    }
}

fn duplicate(name: &JsonString) -> VerificationError {
    malformed(format!("duplicate member name '{}'", name.lossy().chars().take(80).collect::<String>()))
}

/// Small objects (all receipts) compare pairwise; large ones sort indices so hostile input stays O(n log n).
fn reject_duplicate_names(obj: &Object) -> Result<(), VerificationError> {
    let m = obj.members();
    if m.len() <= 16 {
        for i in 1..m.len() {
            if let Some((k, _)) = m[..i].iter().find(|(k, _)| *k == m[i].0) {
                return Err(duplicate(k));
            }
        }
        return Ok(());
    }
    let mut idx: Vec<usize> = (0..m.len()).collect();
    let key = |i: usize| (m[i].0.lossy(), m[i].0.raw_utf16());
    idx.sort_unstable_by(|&a, &b| key(a).cmp(&key(b)));
    for w in idx.windows(2) {
        if m[w[0]].0 == m[w[1]].0 {
            return Err(duplicate(&m[w[0]].0));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> String {
        parse(input.as_bytes()).unwrap_err().message
    }

    #[test]
    fn classifies_numbers() {
        let v =
            parse(b"[0, -0, 9007199254740991, -9007199254740991, 9007199254740992, 1.0, 1e0, 123456789012345678901]")
                .unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a[0], Value::Number(Number::Int(0)));
        assert_eq!(a[1], Value::Number(Number::Int(0)));
        assert_eq!(a[2].as_i64(), Some(MAX_SAFE_INTEGER));
        assert_eq!(a[3].as_i64(), Some(-MAX_SAFE_INTEGER));
        assert_eq!(a[4], Value::Number(Number::UnsafeInteger("9007199254740992".into())));
        assert_eq!(a[5], Value::Number(Number::NonInteger("1.0".into())));
        assert_eq!(a[6], Value::Number(Number::NonInteger("1e0".into())));
        assert_eq!(a[7], Value::Number(Number::UnsafeInteger("123456789012345678901".into())));
    }

    #[test]
    fn rejects_bad_numbers() {
        for bad in ["01", "-", "1.", ".5", "1e", "+1", "0x10", "1.e5", "--1"] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn strings_and_surrogates() {
        let v = parse(br#"["a\u00e9\n\/", "\ud83d\ude00", "x\ud800y", "\udc00", "\ud800\ud800"]"#).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a[0].as_str(), Some("a\u{e9}\n/"));
        assert_eq!(a[1].as_str(), Some("\u{1F600}"));
        let Value::String(lone) = &a[2] else { panic!() };
        assert!(lone.has_unpaired_surrogate());
        assert_eq!(lone.lossy(), "x\u{FFFD}y");
        assert_eq!(lone.raw_utf16(), Some(&[0x78, 0xD800, 0x79][..]));
        assert!(a[3].as_str().is_none());
        let Value::String(two) = &a[4] else { panic!() };
        assert_eq!(two.raw_utf16(), Some(&[0xD800, 0xD800][..]));
    }

    #[test]
    fn rejects_duplicates_even_when_spelled_differently() {
        assert!(err(r#"{"a":1,"a":2}"#).contains("duplicate member name 'a'"));
        assert!(err(r#"{"a":1,"\u0061":2}"#).contains("duplicate member name"));
        assert!(err(r#"{"x":{"b":1,"b":1}}"#).contains("duplicate member name 'b'"));
        // Two different unpaired surrogates are different names.
        assert!(parse(br#"{"\ud800":1,"\ud801":2}"#).is_ok());
        let many: String = (0..40).map(|i| format!("\"k{i}\":1,")).collect::<String>() + "\"k7\":2";
        assert!(err(&format!("{{{many}}}")).contains("duplicate member name 'k7'"));
    }

    #[test]
    fn rejects_framing_errors() {
        assert!(err("\u{feff}{}").contains("byte order mark"));
        assert!(err("{} x").contains("trailing"));
        assert!(err("").contains("end of JSON input"));
        assert!(err("\"a\tb\"").contains("control character"));
        assert!(parse(b"\"\xff\"").unwrap_err().message.contains("UTF-8"));
        assert!(err("[1,]").contains("unexpected"));
        assert!(err("{\"a\" 1}").contains("unexpected"));
        assert!(err("nul").contains("literal"));
    }

    #[test]
    fn depth_is_capped_without_recursing_unboundedly() {
        let deep = "[".repeat(100_000);
        assert!(err(&deep).contains("parser limit"));
        let ok = format!("{}{}", "[".repeat(MAX_PARSE_DEPTH), "]".repeat(MAX_PARSE_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn serde_round_trip() {
        let s: serde_json::Value = serde_json::json!({"a": [1, -2, true, null, "x"], "b": 1.5, "c": u64::MAX});
        let v = Value::from(&s);
        let o = v.as_object().unwrap();
        assert_eq!(o.get("b"), Some(&Value::Number(Number::NonInteger("1.5".into()))));
        assert!(matches!(o.get("c"), Some(Value::Number(Number::UnsafeInteger(_)))));
        assert_eq!(v.to_serde(), Some(s));
        assert_eq!(parse(br#"["\ud800"]"#).unwrap().to_serde(), None);
    }
}
