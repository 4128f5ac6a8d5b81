//! The `allowly` binary over the public conformance vectors: exit codes, reasons on stderr, identifiers.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use allowly_core::receipt::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_allowly");

fn conformance(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance").join(rel)
}

struct Vectors {
    dir: tempfile::TempDir,
    keys: PathBuf,
    valid: Vec<PathBuf>,
    /// (name, file, expected_reason, expected_kind if the file names one)
    invalid: Vec<(String, PathBuf, String, Option<String>)>,
}

fn write_vectors() -> Vectors {
    write_vector_file("receipt-format-v4/test-vectors.json")
}

fn write_vector_file(rel: &str) -> Vectors {
    let raw = std::fs::read(conformance(rel)).unwrap();
    let doc = json::parse(&raw).expect("vectors parse");
    let doc = doc.as_object().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    std::fs::write(&keys, doc.get("public_keys").unwrap().to_json_string()).unwrap();
    let mut valid = Vec::new();
    for v in doc.get("should_verify").unwrap().as_array().unwrap() {
        let v = v.as_object().unwrap();
        let path = dir.path().join(format!("{}.json", v.get("name").unwrap().as_str().unwrap()));
        std::fs::write(&path, v.get("receipt").unwrap().to_json_string()).unwrap();
        valid.push(path);
    }
    let mut invalid = Vec::new();
    for v in doc.get("should_reject").unwrap().as_array().unwrap() {
        let v = v.as_object().unwrap();
        let name = v.get("name").unwrap().as_str().unwrap().to_string();
        let path = dir.path().join(format!("reject-{name}.json"));
        std::fs::write(&path, v.get("receipt").unwrap().to_json_string()).unwrap();
        let kind = v.get("expected_kind").and_then(Value::as_str).map(str::to_owned);
        invalid.push((name, path, v.get("expected_reason").unwrap().as_str().unwrap().to_string(), kind));
    }
    Vectors { dir, keys, valid, invalid }
}

fn run(args: &[&OsStr], pepper: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("ALLOWLY_PII_PEPPER");
    if let Some(p) = pepper {
        cmd.env("ALLOWLY_PII_PEPPER", p);
    }
    cmd.output().expect("run allowly")
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn verify_args<'a>(v: &'a Vectors, ws: &'a str) -> Vec<&'a OsStr> {
    vec![os("receipt"), os("verify"), os("--keys"), v.keys.as_os_str(), os("--workspace-id"), os(ws)]
}

#[test]
fn all_should_verify_vectors_verify_with_exit_0() {
    let v = write_vectors();
    let mut args = verify_args(&v, "ws_test");
    args.extend(v.valid.iter().map(|p| p.as_os_str()));
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().filter(|l| l.contains(": valid ")).count(), 22);
}

#[test]
fn every_should_reject_vector_exits_1_with_its_reason() {
    let v = write_vectors();
    assert_eq!(v.invalid.len(), 39);
    for (name, path, reason, _) in &v.invalid {
        let mut args = verify_args(&v, "ws_test");
        args.push(path.as_os_str());
        let out = run(&args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(reason.as_str()), "{name}: expected {reason:?} in {stderr}");
    }
}

#[test]
fn one_invalid_among_valid_fails_the_run_and_names_the_file() {
    let v = write_vectors();
    let mut args = verify_args(&v, "ws_test");
    args.push(v.valid[0].as_os_str());
    args.push(v.invalid[4].1.as_os_str());
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("INVALID"));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": valid "));
}

#[test]
fn signed_envelopes_are_accepted() {
    let v = write_vectors();
    let receipt = std::fs::read_to_string(&v.valid[0]).unwrap();
    let envelope = v.dir.path().join("envelope.json");
    std::fs::write(&envelope, format!("{{\"status\":\"signed\",\"receipt\":{receipt}}}")).unwrap();
    let mut args = verify_args(&v, "ws_test");
    args.push(envelope.as_os_str());
    assert_eq!(run(&args, None).status.code(), Some(0));
}

#[test]
fn wrong_workspace_and_untrusted_keys_are_rejected() {
    let v = write_vectors();
    let mut args = verify_args(&v, "ws_other");
    args.push(v.valid[0].as_os_str());
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("workspace"));

    let wrong = format!("sha256:{}", "0".repeat(64));
    let mut args = verify_args(&v, "ws_test");
    args.extend([os("--trusted-fingerprint"), os(&wrong), v.valid[0].as_os_str()]);
    assert_eq!(run(&args, None).status.code(), Some(1));

    let right = "sha256:139e3940e64b5491722088d9a0d741628fc826e09475d341a780acde3c4b8070";
    let mut args = verify_args(&v, "ws_test");
    args.extend([os("--trusted-fingerprint"), os(right), v.valid[0].as_os_str()]);
    assert_eq!(run(&args, None).status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    let v = write_vectors();
    assert_eq!(run(&[os("receipt"), os("verify")], None).status.code(), Some(2));
    let missing = v.dir.path().join("nope.json");
    let mut args = verify_args(&v, "ws_test");
    args[3] = missing.as_os_str();
    args.push(v.valid[0].as_os_str());
    assert_eq!(run(&args, None).status.code(), Some(2));
    let mut args = verify_args(&v, "ws_test");
    args.extend([os("--trusted-fingerprint"), os("md5:abc"), v.valid[0].as_os_str()]);
    assert_eq!(run(&args, None).status.code(), Some(2));
    // A receipt passed where the key document belongs.
    let mut args = verify_args(&v, "ws_test");
    args[3] = v.valid[0].as_os_str();
    args.push(v.valid[0].as_os_str());
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid key document"));
}

#[test]
fn export_verify_batches_and_reports_bad_lines() {
    let v = write_vectors();
    let mut lines: Vec<String> = v.valid.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    let export = v.dir.path().join("export.jsonl");
    std::fs::write(&export, lines.join("\n") + "\n").unwrap();
    let args = [
        os("export"),
        os("verify"),
        os("--keys"),
        v.keys.as_os_str(),
        os("--workspace-id"),
        os("ws_test"),
        export.as_os_str(),
    ];
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("22 receipts, 22 valid, 0 invalid"));

    let tampered = lines[0].replace("\"allow\"", "\"deny\"");
    assert_ne!(tampered, lines[0]);
    lines.insert(3, tampered);
    lines.insert(5, "{not json".into());
    std::fs::write(&export, lines.join("\n") + "\n").unwrap();
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 4: INVALID") && stderr.contains("signature verification failed"), "{stderr}");
    assert!(stderr.contains("line 6: INVALID"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("24 receipts, 22 valid, 2 invalid"));
}

#[test]
fn id_from_email_reproduces_every_identifier_vector() {
    let raw = std::fs::read(conformance("identifiers/email-hmac-v1.json")).unwrap();
    let vectors = json::parse(&raw).unwrap();
    let mut checked = 0;
    for v in vectors.as_array().unwrap() {
        let v = v.as_object().unwrap();
        let (email, pepper) = (v.get("email").unwrap().as_str().unwrap(), v.get("pepper").unwrap().as_str().unwrap());
        let out = run(&[os("id"), os("from-email"), os(email)], Some(pepper));
        match (v.get("user_id"), v.get("error")) {
            (Some(Value::String(expected)), None) => {
                assert_eq!(out.status.code(), Some(0));
                assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end(), expected.as_str().unwrap());
            }
            (None, Some(Value::String(message))) => {
                assert_eq!(out.status.code(), Some(2));
                assert!(out.stdout.is_empty());
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains(message.as_str().unwrap()), "{stderr}");
            }
            _ => panic!("malformed identifier vector"),
        }
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn pepper_is_never_accepted_as_an_argument() {
    let out = run(&[os("id"), os("from-email"), os("--pepper"), os("p"), os("a@b")], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[os("id"), os("from-email"), os("a@b")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ALLOWLY_PII_PEPPER"));
}

#[test]
fn export_verify_accepts_signed_envelope_lines() {
    let v = write_vectors();
    let receipt = std::fs::read_to_string(&v.valid[0]).unwrap();
    let export = v.dir.path().join("envelopes.jsonl");
    std::fs::write(&export, format!("{{\"status\":\"signed\",\"receipt\":{receipt}}}\n{receipt}\n")).unwrap();
    let args = [
        os("export"),
        os("verify"),
        os("--keys"),
        v.keys.as_os_str(),
        os("--workspace-id"),
        os("ws_test"),
        export.as_os_str(),
    ];
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 receipts, 2 valid, 0 invalid"));
}

// ---- wire 5 (tests/conformance/receipt-format-v5): the same commands take JWS receipts ----

/// The CLI reads the system clock; a case judged against the vector file's `now` that depends on it is left out.
fn clock_dependent(name: &str) -> bool {
    name.contains("future_skew")
}

#[test]
fn wire5_should_verify_vectors_verify_with_exit_0() {
    let v = write_vector_file("receipt-format-v5/test-vectors.json");
    let mut args = verify_args(&v, "ws_test");
    args.extend(v.valid.iter().map(|p| p.as_os_str()));
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().filter(|l| l.contains(": valid ")).count(), 29);
    // The key id shown is the JWS header's kid.
    assert!(stdout.contains("(test-key/v2)") && stdout.contains("(test-key/v1)"), "{stdout}");
}

#[test]
fn wire5_should_reject_vectors_exit_1_with_their_kind_and_reason() {
    let v = write_vector_file("receipt-format-v5/test-vectors.json");
    assert_eq!(v.invalid.len(), 88);
    let mut checked = 0;
    for (name, path, reason, kind) in &v.invalid {
        if clock_dependent(name) {
            continue;
        }
        let mut args = verify_args(&v, "ws_test");
        args.push(path.as_os_str());
        let out = run(&args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(reason.as_str()), "{name}: expected {reason:?} in {stderr}");
        let kind = kind.as_deref().expect("v5 vectors name their kind");
        assert!(stderr.contains(&format!("INVALID ({kind})")), "{name}: expected kind {kind} in {stderr}");
        checked += 1;
    }
    assert_eq!(checked, 87);
}

#[test]
fn wire5_export_verify_batches_envelopes_and_reports_bad_lines() {
    let v = write_vector_file("receipt-format-v5/test-vectors.json");
    let mut lines: Vec<String> = v.valid.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    // A signed envelope around a JWS receipt, as the API returns it.
    lines.push(format!("{{\"status\":\"signed\",\"receipt\":{}}}", lines[0]));
    let export = v.dir.path().join("export5.jsonl");
    std::fs::write(&export, lines.join("\n") + "\n").unwrap();
    let args = [
        os("export"),
        os("verify"),
        os("--keys"),
        v.keys.as_os_str(),
        os("--workspace-id"),
        os("ws_test"),
        export.as_os_str(),
    ];
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("30 receipts, 30 valid, 0 invalid"));

    let tampered = &v.invalid.iter().find(|(n, ..)| n == "tampered_payload").unwrap().1;
    lines.insert(2, std::fs::read_to_string(tampered).unwrap());
    std::fs::write(&export, lines.join("\n") + "\n").unwrap();
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3: INVALID (signature_mismatch)"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("31 receipts, 30 valid, 1 invalid"));
}
