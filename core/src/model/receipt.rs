//! Receipt envelopes: how the server hands out a receipt that may not be signed yet.
//!
//! Wire shapes: pending `{"status":"pending","receipt_id","ready_at_estimate","url"}`, signed
//! `{"status":"signed","receipt":{…}}`. A signed receipt is kept as the exact JSON text the server sent
//! ([`RawValue`]): the receipt verifier must run its strict parser over the original bytes (duplicate names, number
//! forms and escapes are lost by any re-serialization), so nothing here ever rebuilds the receipt.
//!
//! Internally tagged enums cannot hold a `RawValue` (serde buffers the content first), so the envelope is read through
//! a flat helper struct and converted with validation.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// Whether an envelope holds a signed receipt yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    Pending,
    Signed,
}

impl ReceiptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Pending => "pending",
            ReceiptStatus::Signed => "signed",
        }
    }
}

impl fmt::Display for ReceiptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A receipt as the server returns it: pending (signing is asynchronous) or signed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawEnvelope")]
pub enum ReceiptEnvelope {
    /// The receipt id is final; the signature is not there yet. Poll with `fetch_signed`.
    Pending {
        receipt_id: String,
        ready_at_estimate: Option<String>,
        url: Option<String>,
    },
    Signed(SignedReceipt),
}

impl ReceiptEnvelope {
    pub fn receipt_id(&self) -> &str {
        match self {
            ReceiptEnvelope::Pending { receipt_id, .. } => receipt_id,
            ReceiptEnvelope::Signed(signed) => signed.receipt_id(),
        }
    }

    pub fn status(&self) -> ReceiptStatus {
        match self {
            ReceiptEnvelope::Pending { .. } => ReceiptStatus::Pending,
            ReceiptEnvelope::Signed(_) => ReceiptStatus::Signed,
        }
    }

    pub fn is_signed(&self) -> bool {
        matches!(self, ReceiptEnvelope::Signed(_))
    }

    pub fn as_signed(&self) -> Option<&SignedReceipt> {
        match self {
            ReceiptEnvelope::Signed(signed) => Some(signed),
            ReceiptEnvelope::Pending { .. } => None,
        }
    }

    pub fn into_signed(self) -> Option<SignedReceipt> {
        match self {
            ReceiptEnvelope::Signed(signed) => Some(signed),
            ReceiptEnvelope::Pending { .. } => None,
        }
    }
}

/// A receipt as the server hands it out, as one flat record: `status` says which of the other fields are set.
///
/// This is the envelope's shape in every binding (a language without sum types reads `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptParts {
    pub status: ReceiptStatus,
    pub receipt_id: String,
    /// Pending only: when the server expects the signature.
    pub ready_at_estimate: Option<String>,
    /// Pending only: where to fetch the signed receipt.
    pub url: Option<String>,
    /// Signed only: the receipt's exact JSON text as received, which is what verification must see.
    pub json: Option<String>,
}

impl From<ReceiptEnvelope> for ReceiptParts {
    fn from(envelope: ReceiptEnvelope) -> Self {
        match envelope {
            ReceiptEnvelope::Pending { receipt_id, ready_at_estimate, url } => {
                ReceiptParts { status: ReceiptStatus::Pending, receipt_id, ready_at_estimate, url, json: None }
            }
            ReceiptEnvelope::Signed(signed) => ReceiptParts {
                status: ReceiptStatus::Signed,
                receipt_id: signed.receipt_id().to_owned(),
                ready_at_estimate: None,
                url: None,
                json: Some(signed.json().to_owned()),
            },
        }
    }
}

/// Serializes back to the wire shape (bindings hand these to users as dicts / objects). A signed envelope also carries
/// `receipt_id` so both states can be read the same way; the receipt itself is written byte for byte as received.
impl Serialize for ReceiptEnvelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ReceiptEnvelope::Pending { receipt_id, ready_at_estimate, url } => {
                let mut map = serializer.serialize_map(Some(4))?;
                map.serialize_entry("status", ReceiptStatus::Pending.as_str())?;
                map.serialize_entry("receipt_id", receipt_id)?;
                map.serialize_entry("ready_at_estimate", ready_at_estimate)?;
                map.serialize_entry("url", url)?;
                map.end()
            }
            ReceiptEnvelope::Signed(signed) => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("status", ReceiptStatus::Signed.as_str())?;
                map.serialize_entry("receipt_id", signed.receipt_id())?;
                map.serialize_entry("receipt", &signed.raw)?;
                map.end()
            }
        }
    }
}

/// The flat shape every envelope is read through.
#[derive(Deserialize)]
struct RawEnvelope {
    status: String,
    #[serde(default)]
    receipt_id: Option<String>,
    #[serde(default)]
    ready_at_estimate: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    receipt: Option<Box<RawValue>>,
}

impl TryFrom<RawEnvelope> for ReceiptEnvelope {
    type Error = String;

    fn try_from(raw: RawEnvelope) -> std::result::Result<Self, String> {
        match raw.status.as_str() {
            "pending" => {
                let receipt_id = raw.receipt_id.filter(|id| !id.is_empty()).ok_or_else(|| {
                    "pending receipt envelope has no `receipt_id` (missing field `receipt_id`)".to_owned()
                })?;
                Ok(ReceiptEnvelope::Pending { receipt_id, ready_at_estimate: raw.ready_at_estimate, url: raw.url })
            }
            "signed" => {
                let receipt = raw
                    .receipt
                    .ok_or_else(|| "signed receipt envelope has no `receipt` (missing field `receipt`)".to_owned())?;
                let signed = SignedReceipt::from_raw_with_hint(receipt, raw.receipt_id.as_deref())?;
                Ok(ReceiptEnvelope::Signed(signed))
            }
            other => Err(format!("unknown receipt envelope status `{other}` (expected `pending` or `signed`)")),
        }
    }
}

/// A signed receipt: the exact JSON text of the `receipt` object as the server sent it.
///
/// Only `receipt_id` is read from it (once, at construction); everything else is the verifier's job, which parses
/// [`SignedReceipt::json`] strictly.
#[derive(Clone, Deserialize)]
#[serde(try_from = "Box<RawValue>")]
pub struct SignedReceipt {
    receipt_id: String,
    raw: Box<RawValue>,
}

/// Reads only `receipt_id` (wire 4) or the JWS `payload` that holds it (wire 5); every other member is skipped
/// without being interpreted.
#[derive(Deserialize)]
struct ReceiptIdProbe {
    #[serde(default)]
    receipt_id: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

impl ReceiptIdProbe {
    fn receipt_id(self) -> Option<String> {
        use base64::Engine as _;
        self.receipt_id.or_else(|| {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(self.payload?).ok()?;
            serde_json::from_slice::<ReceiptIdProbe>(&bytes).ok()?.receipt_id
        })
    }
}

impl SignedReceipt {
    /// Wraps the JSON text of a bare signed receipt (e.g. a line of an export), keeping it byte for byte.
    pub fn from_json(text: &str) -> Result<Self> {
        let raw: Box<RawValue> = serde_json::from_str(text)
            .map_err(|e| Error::Protocol { message: format!("signed receipt is not valid JSON: {e}") })?;
        Self::from_raw_with_hint(raw, None).map_err(|message| Error::Protocol { message })
    }

    /// `hint` is the envelope's own `receipt_id`, used when the receipt's cannot be read and checked against it
    /// otherwise.
    fn from_raw_with_hint(raw: Box<RawValue>, hint: Option<&str>) -> std::result::Result<Self, String> {
        if !raw.get().starts_with('{') {
            return Err("signed receipt is not a JSON object".to_owned());
        }
        // A receipt the probe cannot read (a duplicate or non-string `receipt_id`) is still kept: the verifier will
        // reject it with a precise reason, which is more useful than a protocol error here.
        let inner = serde_json::from_str::<ReceiptIdProbe>(raw.get()).ok().and_then(ReceiptIdProbe::receipt_id);
        let receipt_id = match (inner, hint) {
            (Some(inner), Some(hint)) if inner != hint => {
                return Err(format!("envelope receipt_id `{hint}` does not match the receipt's `{inner}`"));
            }
            (Some(id), _) => id,
            (None, Some(hint)) => hint.to_owned(),
            (None, None) => return Err("signed receipt has no `receipt_id` (missing field `receipt_id`)".to_owned()),
        };
        Ok(SignedReceipt { receipt_id, raw })
    }

    pub fn receipt_id(&self) -> &str {
        &self.receipt_id
    }

    /// The exact JSON text of the receipt object, as received. Feed this to the verifier.
    pub fn json(&self) -> &str {
        self.raw.get()
    }

    /// Always [`ReceiptStatus::Signed`]; present so both receipt types answer the same questions.
    pub fn status(&self) -> ReceiptStatus {
        ReceiptStatus::Signed
    }

    /// The receipt parsed as a general JSON value, for display. Not for verification (it loses the original bytes).
    pub fn to_value(&self) -> Result<serde_json::Value> {
        serde_json::from_str(self.raw.get())
            .map_err(|e| Error::Protocol { message: format!("signed receipt {}: {e}", self.receipt_id) })
    }

    pub fn into_raw(self) -> Box<RawValue> {
        self.raw
    }
}

impl TryFrom<Box<RawValue>> for SignedReceipt {
    type Error = String;

    fn try_from(raw: Box<RawValue>) -> std::result::Result<Self, String> {
        SignedReceipt::from_raw_with_hint(raw, None)
    }
}

/// Serializes the receipt object exactly as received.
impl Serialize for SignedReceipt {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl PartialEq for SignedReceipt {
    fn eq(&self, other: &Self) -> bool {
        self.raw.get() == other.raw.get()
    }
}

impl Eq for SignedReceipt {}

impl fmt::Debug for SignedReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedReceipt").field("receipt_id", &self.receipt_id).field("json", &self.raw.get()).finish()
    }
}
