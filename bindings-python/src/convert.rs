//! Value conversions between Python objects and the two JSON models of core: `serde_json::Value` for request
//! fields (metadata, context, scope constraints) and result dicts, and the receipt module's lossless `json::Value` for
//! receipts and key documents handed over as dicts.
//!
//! The lossless one exists because a receipt dict can hold what `serde_json` would silently change: a float that was
//! `1.0` on the wire, an integer beyond 2^53, a lone surrogate from `json.loads`. Those must reach the verifier as they
//! are, so it can reject them with the right reason.

use allowly_core::Error;
use allowly_core::receipt::json::{JsonString, Number, Object, Value as ReceiptValue};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

/// A Python value as request JSON. `field` names the argument in the `ValidationError` a bad value raises.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>, field: &str) -> Result<Value, Error> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(Error::invalid_input(field, format!("{field}: integer out of the 64-bit range")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| Error::invalid_input(field, format!("{field}: NaN and infinity are not JSON")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(text(s, field)?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return to_object(d, field).map(Value::Object);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = obj.try_iter().map_err(|_| type_error(obj, field))?;
        return items
            .map(|item| item.map_err(|_| type_error(obj, field)).and_then(|item| to_json(&item, field)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    Err(type_error(obj, field))
}

/// A Python dict as a JSON object (string keys only, as JSON requires).
pub(crate) fn to_object(dict: &Bound<'_, PyDict>, field: &str) -> Result<Map<String, Value>, Error> {
    let mut map = Map::new();
    for (key, value) in dict.iter() {
        let key = key
            .cast::<PyString>()
            .map_err(|_| Error::invalid_input(field, format!("{field}: keys must be strings")))
            .and_then(|k| text(k, field))?;
        map.insert(key, to_json(&value, field)?);
    }
    Ok(map)
}

/// An optional dict argument as a JSON object.
pub(crate) fn optional_object(
    obj: Option<&Bound<'_, PyAny>>,
    field: &str,
) -> Result<Option<Map<String, Value>>, Error> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match o.cast::<PyDict>() {
            Ok(d) => to_object(d, field).map(Some),
            Err(_) => Err(Error::invalid_input(field, format!("{field} must be a dict"))),
        },
    }
}

fn text(s: &Bound<'_, PyString>, field: &str) -> Result<String, Error> {
    s.to_cow().map(|c| c.into_owned()).map_err(|_| {
        Error::invalid_input(field, format!("{field}: strings must be valid Unicode (no lone surrogates)"))
    })
}

fn type_error(obj: &Bound<'_, PyAny>, field: &str) -> Error {
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    Error::invalid_input(field, format!("{field}: a value of type `{type_name}` cannot be sent as JSON"))
}

/// JSON as Python objects: dicts, lists, str, int, float, bool, None.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Any serializable core value as Python objects (the body of every `to_dict()`).
pub(crate) fn serialize<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("cannot convert to a dict: {e}")))?;
    Ok(to_py(py, &json)?.unbind())
}

/// What a receipt or key document argument holds: exact JSON text (the strict parser reads it), or an already-parsed
/// Python value converted losslessly.
pub(crate) enum Document {
    Text(Vec<u8>),
    Value(ReceiptValue),
}

/// Reads `str`/`bytes` as JSON text and anything else (a dict from `json.loads`, say) as a value.
pub(crate) fn document(obj: &Bound<'_, PyAny>) -> PyResult<Document> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Document::Text(b.as_bytes().to_vec()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Document::Text(s.to_cow()?.as_bytes().to_vec()));
    }
    Ok(Document::Value(receipt_value(obj)?))
}

/// A Python value as the receipt module's lossless JSON value.
pub(crate) fn receipt_value(obj: &Bound<'_, PyAny>) -> PyResult<ReceiptValue> {
    if obj.is_none() {
        return Ok(ReceiptValue::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(ReceiptValue::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        let n: i128 = match obj.extract() {
            Ok(n) => n,
            Err(_) => return Ok(ReceiptValue::Number(Number::UnsafeInteger(obj.str()?.to_string()))),
        };
        return Ok(ReceiptValue::Number(Number::from_i128(n)));
    }
    if obj.is_instance_of::<PyFloat>() {
        // `json.loads` makes a float only from a token with a fraction or an exponent: not an integer on the wire.
        return Ok(ReceiptValue::Number(Number::NonInteger(obj.repr()?.to_string())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return json_string(s).map(ReceiptValue::String);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut object = Object::new();
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| pyo3::exceptions::PyTypeError::new_err("receipt and key document keys must be strings"))?;
            object.insert(json_string(key)?, receipt_value(&v)?);
        }
        return Ok(ReceiptValue::Object(object));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = obj.try_iter()?.map(|item| receipt_value(&item?)).collect::<PyResult<Vec<_>>>()?;
        return Ok(ReceiptValue::Array(items));
    }
    let type_name = obj.get_type().name()?.to_string();
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "expected JSON text (str/bytes), a parsed JSON value or a SignedReceipt, not `{type_name}`"
    )))
}

/// Keeps a lone surrogate visible (as UTF-16 code units) instead of failing the conversion.
fn json_string(s: &Bound<'_, PyString>) -> PyResult<JsonString> {
    if let Ok(text) = s.to_cow() {
        return Ok(JsonString::new(text.into_owned()));
    }
    let encoded = s.call_method1("encode", ("utf-16-le", "surrogatepass"))?;
    let bytes = encoded.cast::<PyBytes>()?.as_bytes();
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    Ok(JsonString::from_utf16(&units))
}
