//! Offline verification: key documents, single receipts and batches, all by core's receipt module.
//!
//! Verification runs with the GIL released; only the conversion of a dict argument into core's lossless JSON value
//! needs it.

use std::time::Duration;

use allowly_core::VerificationError;
use allowly_core::receipt::{self, KeySet, VerifiedReceipt, VerifyOptions};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::convert::{Document, document};
use crate::errors::{to_py_err, verification_err, verification_exception};
use crate::models::{PyReceipt, PySignedReceipt};

/// A validated key document: what receipts are verified against. Build it once and reuse it.
#[pyclass(frozen, eq, module = "allowly", name = "KeySet")]
#[derive(Clone, PartialEq)]
pub struct PyKeySet {
    inner: KeySet,
}

#[pymethods]
impl PyKeySet {
    #[getter]
    fn workspace_id(&self) -> &str {
        &self.inner.workspace_id
    }
    #[getter]
    fn key_ids(&self) -> Vec<String> {
        self.inner.iter().map(|k| k.key_id.clone()).collect()
    }
    /// `sha256:<hex>` of every key, for pinning with `trusted_fingerprints`.
    #[getter]
    fn fingerprints(&self) -> Vec<String> {
        self.inner.fingerprints()
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(crate::convert::to_py(py, &self.inner.to_json())?.unbind())
    }
    fn __repr__(&self) -> String {
        format!("KeySet(workspace_id='{}', key_ids={:?})", self.inner.workspace_id, self.key_ids())
    }
}

impl From<KeySet> for PyKeySet {
    fn from(inner: KeySet) -> Self {
        PyKeySet { inner }
    }
}

/// What a valid receipt attests.
#[pyclass(frozen, eq, module = "allowly", name = "VerifiedReceipt")]
#[derive(Clone, PartialEq)]
pub struct PyVerifiedReceipt {
    pub(crate) inner: VerifiedReceipt,
}

#[pymethods]
impl PyVerifiedReceipt {
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::convert::serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        let v = &self.inner;
        format!(
            "VerifiedReceipt(receipt_id='{}', name='{}', decision='{}', reason='{}')",
            v.receipt_id, v.name, v.decision, v.reason
        )
    }
}

/// A receipt argument: a `SignedReceipt` or a signed `Receipt` envelope (their exact bytes), JSON text, or a dict.
fn receipt_document(obj: &Bound<'_, PyAny>) -> PyResult<Document> {
    if let Ok(signed) = obj.cast::<PySignedReceipt>() {
        return Ok(Document::Text(signed.get().inner.json().as_bytes().to_vec()));
    }
    if let Ok(envelope) = obj.cast::<PyReceipt>() {
        return match envelope.get().inner.as_signed() {
            Some(signed) => Ok(Document::Text(signed.json().as_bytes().to_vec())),
            None => Err(pyo3::exceptions::PyValueError::new_err(
                "this receipt is still pending: fetch it with receipts.fetch_signed() first",
            )),
        };
    }
    document(obj)
}

fn options(
    expected_workspace_id: Option<String>,
    trusted_fingerprints: Option<Vec<String>>,
    max_future_skew: Option<f64>,
) -> PyResult<VerifyOptions> {
    let mut opts = VerifyOptions { expected_workspace_id, ..VerifyOptions::default() };
    opts.trusted_fingerprints = trusted_fingerprints.unwrap_or_default();
    if let Some(skew) = max_future_skew {
        opts.max_future_skew = Duration::try_from_secs_f64(skew)
            .map_err(|_| pyo3::exceptions::PyValueError::new_err("max_future_skew must be a non-negative number"))?;
    }
    Ok(opts)
}

fn verify_document(doc: &Document, keys: &KeySet, opts: &VerifyOptions) -> Result<VerifiedReceipt, VerificationError> {
    match doc {
        Document::Text(bytes) => receipt::verify_receipt_json(bytes, keys, opts),
        Document::Value(value) => receipt::verify_receipt(value, keys, opts),
    }
}

/// Loads a key document (a dict such as `response.json()`, or its JSON text) strictly; raises `KeyDocumentError`.
#[pyfunction]
fn load_keys_from_json(py: Python<'_>, doc: &Bound<'_, PyAny>) -> PyResult<PyKeySet> {
    let doc = document(doc)?;
    let keys = py.detach(|| match &doc {
        Document::Text(bytes) => receipt::load_keys_from_json(bytes),
        Document::Value(value) => KeySet::from_value(value),
    });
    keys.map(PyKeySet::from).map_err(|e| verification_err(py, e))
}

/// Verifies one signed receipt offline; returns what it attests or raises a `VerificationError` subclass.
#[pyfunction]
#[pyo3(signature = (receipt, keys, *, expected_workspace_id=None, trusted_fingerprints=None, max_future_skew=None))]
fn verify_receipt(
    py: Python<'_>,
    receipt: &Bound<'_, PyAny>,
    keys: &PyKeySet,
    expected_workspace_id: Option<String>,
    trusted_fingerprints: Option<Vec<String>>,
    max_future_skew: Option<f64>,
) -> PyResult<PyVerifiedReceipt> {
    let doc = receipt_document(receipt)?;
    let opts = options(expected_workspace_id, trusted_fingerprints, max_future_skew)?;
    let verified = py.detach(|| verify_document(&doc, &keys.inner, &opts));
    verified.map(|inner| PyVerifiedReceipt { inner }).map_err(|e| verification_err(py, e))
}

/// Verifies many receipts on every core. Returns one entry per input, in order: a `VerifiedReceipt`, or the
/// `VerificationError` (not raised) that receipt failed with.
#[pyfunction]
#[pyo3(signature = (receipts, keys, *, expected_workspace_id=None, trusted_fingerprints=None, max_future_skew=None))]
fn verify_batch(
    py: Python<'_>,
    receipts: &Bound<'_, PyAny>,
    keys: &PyKeySet,
    expected_workspace_id: Option<String>,
    trusted_fingerprints: Option<Vec<String>>,
    max_future_skew: Option<f64>,
) -> PyResult<Vec<Py<PyAny>>> {
    let items = receipts.try_iter()?.collect::<PyResult<Vec<_>>>()?;
    let opts = options(expected_workspace_id, trusted_fingerprints, max_future_skew)?;
    let results = match items.iter().map(utf8_text).collect::<Option<PyResult<Vec<_>>>>() {
        // The usual input, an export's lines: core parses them on every core too. Building the inputs is serial under
        // the GIL, so a line's UTF-8 bytes are read where Python holds them (one encoding of a `str`, no further copy).
        Some(texts) => {
            let texts = texts?;
            let lines: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
            py.detach(|| receipt::verify_batch_json(&lines, &keys.inner, &opts))
        }
        None => {
            let docs = items.iter().map(receipt_document).collect::<PyResult<Vec<_>>>()?;
            py.detach(|| verify_documents(docs, &keys.inner, &opts))
        }
    };
    results
        .into_iter()
        .map(|r| match r {
            Ok(inner) => Ok(Py::new(py, PyVerifiedReceipt { inner })?.into_any()),
            Err(e) => verification_exception(py, e),
        })
        .collect()
}

/// A `str` or `bytes` argument as a bytes object holding its UTF-8 text (a `bytes` argument itself, a `str` encoded
/// once); `None` for any other argument.
fn utf8_text<'py>(obj: &Bound<'py, PyAny>) -> Option<PyResult<Bound<'py, PyBytes>>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Some(Ok(b.clone()));
    }
    obj.cast::<PyString>().ok().map(|s| s.encode_utf8())
}

/// The batch of any other input (receipt objects, dicts, a mix): texts are parsed on every core as well when there
/// are only texts; otherwise each is parsed or taken as it is, and a text that does not parse keeps its own error in
/// its place.
fn verify_documents(
    docs: Vec<Document>,
    keys: &KeySet,
    opts: &VerifyOptions,
) -> Vec<Result<VerifiedReceipt, VerificationError>> {
    let texts: Vec<&[u8]> = docs
        .iter()
        .filter_map(|d| match d {
            Document::Text(bytes) => Some(bytes.as_slice()),
            Document::Value(_) => None,
        })
        .collect();
    if texts.len() == docs.len() {
        return receipt::verify_batch_json(&texts, keys, opts);
    }
    drop(texts);
    let mut values = Vec::with_capacity(docs.len());
    let slots: Vec<Result<usize, VerificationError>> = docs
        .into_iter()
        .map(|doc| {
            let value = match doc {
                Document::Text(bytes) => receipt::json::parse(&bytes)?,
                Document::Value(value) => value,
            };
            values.push(value);
            Ok(values.len() - 1)
        })
        .collect();
    let verdicts = receipt::verify_batch(&values, keys, opts);
    slots.into_iter().map(|slot| slot.and_then(|i| verdicts[i].clone())).collect()
}

/// Fetches a workspace's key document (core's `client::fetch_keys_doc`: HTTPS unless allowed, no redirects, the pinned
/// SHA-256, a strict document naming this workspace, cached per URL and pin) and returns it as a dict, which is what
/// the official 0.8.0 `fetch_keys_doc` returns and what `load_keys_from_json` takes. Blocking with the GIL released,
/// as 0.8.0's is: it is a module function, not a client method, so there is no awaitable client to follow.
#[pyfunction]
#[pyo3(signature = (
    workspace_id, *, base_url=None, cache_ttl_seconds=300.0, expected_sha256=None, allow_insecure_http=false,
))]
fn fetch_keys_doc(
    py: Python<'_>,
    workspace_id: String,
    base_url: Option<String>,
    cache_ttl_seconds: f64,
    expected_sha256: Option<String>,
    allow_insecure_http: bool,
) -> PyResult<Py<PyAny>> {
    let cache_ttl = Duration::try_from_secs_f64(cache_ttl_seconds)
        .map_err(|_| pyo3::exceptions::PyValueError::new_err("cache_ttl_seconds must be a non-negative number"))?;
    let opts =
        allowly_core::client::KeysDocOptions { expected_sha256, cache_ttl, allow_insecure_http, ..Default::default() };
    let base_url = base_url.unwrap_or_else(|| allowly_core::client::DEFAULT_BASE_URL.to_owned());
    let future = async move { allowly_core::client::fetch_keys_doc(&base_url, &workspace_id, &opts).await };
    let text = py.detach(|| crate::runtime::tokio_runtime().block_on(future)).map_err(|e| to_py_err(py, e))?;
    // Core has already read the text strictly as a key document, so this parse cannot lose anything it checked.
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| to_py_err(py, allowly_core::Error::Protocol { message: format!("key document: {e}") }))?;
    Ok(crate::convert::to_py(py, &value)?.unbind())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fetch_keys_doc, m)?)?;
    m.add_class::<PyKeySet>()?;
    m.add_class::<PyVerifiedReceipt>()?;
    m.add_function(wrap_pyfunction!(load_keys_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(verify_receipt, m)?)?;
    m.add_function(wrap_pyfunction!(verify_batch, m)?)?;
    Ok(())
}
