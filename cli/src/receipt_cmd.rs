//! `allowly receipt verify`: verify receipt files one by one and say why each invalid one failed.

use std::path::PathBuf;
use std::process::ExitCode;

use allowly_core::receipt::{Value, json, verify_receipt};

use crate::TrustArgs;
use crate::inputs::{load_trust, read_file};

pub fn verify(trust: &TrustArgs, files: &[PathBuf]) -> ExitCode {
    let (keys, options) = match load_trust(trust) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}", e.0);
            return ExitCode::from(2);
        }
    };
    let mut invalid = 0usize;
    for file in files {
        let bytes = match read_file(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {}", e.0);
                return ExitCode::from(2);
            }
        };
        let outcome = json::parse(&bytes).and_then(|value| verify_receipt(unwrap_envelope(&value), &keys, &options));
        match outcome {
            Ok(v) => println!("{}: valid {} {} {} ({})", file.display(), v.receipt_id, v.name, v.decision, v.key_id),
            Err(e) => {
                invalid += 1;
                eprintln!("{}: INVALID ({}): {}", file.display(), e.kind, e.message);
            }
        }
    }
    if invalid == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// Users often save the API's signed envelope (`{"status":"signed","receipt":{…}}`) rather than the bare receipt;
/// accept both, but nothing looser: anything else is handed to the verifier as-is and judged by the format's rules.
pub fn unwrap_envelope(value: &Value) -> &Value {
    if let Value::Object(obj) = value {
        if let (Some(Value::String(status)), Some(inner @ Value::Object(_))) = (obj.get("status"), obj.get("receipt")) {
            if status.as_str() == Some("signed") && obj.len() == 2 {
                return inner;
            }
        }
    }
    value
}
