//! Strict request parsing with field-named errors.
//!
//! wire-v1 wants unknown fields rejected *by name*, `null` treated as absent, and wrong types reported per field.
//! serde's derive errors name neither the field nor all problems at once, so bodies are read into a JSON object
//! and pulled apart here; every problem found is collected and answered together as one 422.

use axum::body::Bytes;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError, WireCode};

/// Hard cap on request bodies (wire-v1: 413 above 64 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// Parses a body that must be a JSON object. An empty body is treated as `{}` when `empty_ok` (DELETE).
pub fn object(body: &Bytes, empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
    if body.len() > MAX_BODY {
        return Err(ApiError::payload_too_large());
    }
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value = serde_json::from_slice::<UniqueMembers>(body).map_err(|e| {
        // serde's message names a line/column, never echoes the body. The only data error the visitor raises is a
        // repeated member name.
        let what = if e.is_data() { "duplicate member name at " } else { "" };
        ApiError::malformed_json(format!("{what}line {} column {}", e.line(), e.column()))
    })?;
    match value.0 {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::field(WireCode::ValidationError, "body", "must be a JSON object")),
    }
}

/// A JSON value whose objects never repeat a member name. serde_json would silently keep the last of duplicate members,
/// while a proxy or another parser in front of the server may keep the first: the same bytes would then be two
/// different requests (another `user_id`, another `scopes`) to the two of them. Such bodies are malformed.
struct UniqueMembers(Value);

impl<'de> serde::Deserialize<'de> for UniqueMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(UniqueMembers)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(UniqueMembers(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom("duplicate member name"));
            }
            let UniqueMembers(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// The body of a route that takes no fields: empty, or an object without members.
pub fn no_fields(body: &Bytes) -> Result<(), ApiError> {
    Fields::new(object(body, true)?, &[])?.finish()
}

/// Pulls typed fields out of a request object, collecting problems.
pub struct Fields {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    /// Rejects any member not in `allowed` (by name) and drops `null` members (null = absent).
    pub fn new(map: Map<String, Value>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.push(FieldError { field: key.clone(), message: "unknown field".into() });
            }
        }
        if !errors.is_empty() {
            let mut e = ApiError::validation(errors);
            e.code = WireCode::UnknownField;
            return Err(e);
        }
        let map = map.into_iter().filter(|(_, v)| !v.is_null()).collect();
        Ok(Self { map, errors: Vec::new() })
    }

    /// An optional RFC 3339 instant that must lie after `now`: `Some(None)` when absent, `Some(Some(t))` when valid,
    /// `None` (with the field error recorded) when it is not a timestamp or not in the future.
    pub fn opt_future_ts(&mut self, name: &str, now: time::OffsetDateTime) -> Option<Option<time::OffsetDateTime>> {
        let Some(text) = self.opt_str(name) else { return Some(None) };
        match crate::util::parse_ts(&text) {
            Some(t) if t > now => Some(Some(t)),
            Some(_) => {
                self.error(name, "must be in the future");
                None
            }
            None => {
                self.error(name, "must be an RFC 3339 timestamp");
                None
            }
        }
    }

    /// An optional JSON object of at most `max` bytes (`{}` when absent).
    pub fn opt_object_within(&mut self, name: &str, max: usize) -> Value {
        let value = self.opt_object(name).map(Value::Object).unwrap_or_else(|| Value::Object(Map::new()));
        if json_size(&value) > max {
            self.error(name, format!("must be at most {} KiB", max / 1024));
        }
        value
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), message: message.into() });
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Removes and returns a raw value (already known non-null).
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    pub fn opt_str(&mut self, name: &str) -> Option<String> {
        match self.map.remove(name) {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    pub fn req_str(&mut self, name: &str) -> Option<String> {
        if !self.has(name) {
            self.error(name, "is required");
            return None;
        }
        let s = self.opt_str(name)?;
        if s.is_empty() {
            self.error(name, "must not be empty");
            return None;
        }
        Some(s)
    }

    pub fn opt_i64(&mut self, name: &str) -> Option<i64> {
        match self.map.remove(name) {
            None => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if v.unsigned_abs() <= MAX_SAFE_INT as u64 => Some(v),
                _ => {
                    self.error(name, "must be an integer in the safe range");
                    None
                }
            },
            Some(_) => {
                self.error(name, "must be an integer");
                None
            }
        }
    }

    pub fn opt_bool(&mut self, name: &str) -> Option<bool> {
        match self.map.remove(name) {
            None => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => {
                self.error(name, "must be a boolean");
                None
            }
        }
    }

    pub fn opt_object(&mut self, name: &str) -> Option<Map<String, Value>> {
        match self.map.remove(name) {
            None => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                self.error(name, "must be an object");
                None
            }
        }
    }

    /// A list of unique non-empty strings.
    pub fn opt_str_list(&mut self, name: &str) -> Option<Vec<String>> {
        let v = self.map.remove(name)?;
        let Value::Array(items) = v else {
            self.error(name, "must be a list of strings");
            return None;
        };
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(s) if !s.is_empty() => {
                    if out.contains(&s) {
                        self.error(name, format!("duplicate entry {s:?}"));
                        return None;
                    }
                    out.push(s);
                }
                _ => {
                    self.error(name, "must contain only non-empty strings");
                    return None;
                }
            }
        }
        Some(out)
    }

    /// Ends parsing: every collected problem becomes one 422.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::validation(self.errors)) }
    }
}

/// I-JSON safe integer bound (receipt format §4.2 rule 6).
pub const MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// Checks that a value can appear in a receipt: no non-integer numbers, integers in the safe range.
/// Returns the JSON path of the first offending value.
pub fn receipt_safe(v: &Value, path: &str) -> Result<(), String> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.unsigned_abs() <= MAX_SAFE_INT as u64 => Ok(()),
            _ => Err(format!("{path}: numbers must be integers within ±(2^53-1)")),
        },
        Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(i, item)| receipt_safe(item, &format!("{path}[{i}]")))
        }
        Value::Object(m) => m.iter().try_for_each(|(k, item)| receipt_safe(item, &format!("{path}.{k}"))),
        _ => Ok(()),
    }
}

/// Serialized size of a JSON value (for the 4 KiB limits on `metadata` and `context`).
pub fn json_size(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_named_and_nulls_are_absent() {
        let Value::Object(m) = json!({"a": 1, "zzz": 2}) else { unreachable!() };
        let err = Fields::new(m, &["a"]).err().expect("must fail");
        assert_eq!(err.code, "unknown_field");
        assert_eq!(err.fields[0].field, "zzz");

        let Value::Object(m) = json!({"a": null}) else { unreachable!() };
        let mut f = Fields::new(m, &["a"]).expect("ok");
        assert!(f.opt_str("a").is_none());
        f.finish().expect("no errors");
    }

    #[test]
    fn floats_are_not_receipt_safe() {
        assert!(receipt_safe(&json!({"a": [1, 2.5]}), "context").is_err());
        assert!(receipt_safe(&json!({"a": [1, "x", true, null]}), "context").is_ok());
        assert!(receipt_safe(&json!(9007199254740992_i64), "x").is_err());
    }
}
