//! `allowly export verify`: verify a whole JSONL export with batch verification, chunk by chunk so memory stays
//! bounded and a progress bar can move on a terminal.

use std::io::{BufRead, BufReader, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use allowly_core::receipt::{Value, json, verify_batch};
use indicatif::{ProgressBar, ProgressStyle};

use crate::TrustArgs;
use crate::inputs::load_trust;
use crate::receipt_cmd::unwrap_envelope;

/// Receipts handed to one `verify_batch` call: large enough to keep every core busy, small enough to stream.
const CHUNK: usize = 8192;

pub fn verify(trust: &TrustArgs, file: &Path) -> ExitCode {
    let (keys, options) = match load_trust(trust) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}", e.0);
            return ExitCode::from(2);
        }
    };
    let handle = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let total_bytes = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total_bytes);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} {msg}")
                .expect("progress template is valid"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut reader = BufReader::new(handle);
    let (mut valid, mut invalid, mut line_no) = (0usize, 0usize, 0usize);
    // (line number, parsed receipt) of the current chunk; lines that do not parse are reported at once.
    let mut chunk: Vec<(usize, Value)> = Vec::with_capacity(CHUNK);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = match reader.read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        if read == 0 {
            break;
        }
        line_no += 1;
        bar.inc(read as u64);
        let text = trim_line(&line);
        if text.is_empty() {
            continue;
        }
        match json::parse(text) {
            Ok(v) => chunk.push((line_no, into_receipt(v))),
            Err(e) => {
                invalid += 1;
                bar.suspend(|| eprintln!("line {line_no}: INVALID ({}): {}", e.kind, e.message));
            }
        }
        if chunk.len() == CHUNK {
            flush(&mut chunk, &keys, &options, &bar, &mut valid, &mut invalid);
        }
    }
    flush(&mut chunk, &keys, &options, &bar, &mut valid, &mut invalid);
    bar.finish_and_clear();
    println!("{}: {} receipts, {valid} valid, {invalid} invalid", file.display(), valid + invalid);
    if invalid == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn flush(
    chunk: &mut Vec<(usize, Value)>,
    keys: &allowly_core::receipt::KeySet,
    options: &allowly_core::receipt::VerifyOptions,
    bar: &ProgressBar,
    valid: &mut usize,
    invalid: &mut usize,
) {
    if chunk.is_empty() {
        return;
    }
    let (lines, receipts): (Vec<usize>, Vec<Value>) = chunk.drain(..).unzip();
    for (line_no, result) in lines.into_iter().zip(verify_batch(&receipts, keys, options)) {
        match result {
            Ok(_) => *valid += 1,
            Err(e) => {
                *invalid += 1;
                bar.suspend(|| eprintln!("line {line_no}: INVALID ({}): {}", e.kind, e.message));
            }
        }
    }
}

/// The receipt of a line: the bare receipt, or the inner receipt of a signed envelope (moved out, not copied).
fn into_receipt(value: Value) -> Value {
    if std::ptr::eq(unwrap_envelope(&value), &value) {
        return value;
    }
    match value {
        Value::Object(mut obj) => obj.remove("receipt").expect("unwrap_envelope found a receipt member"),
        other => other,
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|b| !matches!(b, b'\n' | b'\r' | b' ' | b'\t')).map_or(0, |i| i + 1);
    &line[..end]
}
