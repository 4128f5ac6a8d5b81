//! The shared policy conformance data (tests/conformance/policy-profile-v1) against our validator and evaluator.
//!
//! The data comes from the official SDK 0.8.0 fixtures (53 signed cases) and its invalid-definition lists; the last
//! test hands the same files to the official 0.8.0 validator, so both sides are judged by one set.

use std::path::{Path, PathBuf};
use std::process::Command;

use allowly_core::model::PolicyResult;
use allowly_core::policy::{definition_sha256, evaluate, validate_definition};
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/policy-profile-v1")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(data_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn official_definition(name: &str) -> Value {
    let official = load("official-policy-profile-v1.json");
    official["signature_cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no official case {name}"))["definition"]
        .clone()
}

#[test]
fn every_official_case_evaluates_to_its_signed_result() {
    let cases = load("cases.json");
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 53);
    let mut recovered = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let definition = validate_definition(&official_definition(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(definition.sha256(), case["expected_definition_sha256"], "{name}: definition digest");
        let eval = evaluate(&definition, case["action"].as_str().unwrap(), &case["context"])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected: PolicyResult = serde_json::from_value(case["expected"].clone()).unwrap();
        assert_eq!(eval.result, expected, "{name}: result");
        let commitment = definition.input_sha256(case["action"].as_str().unwrap(), &case["context"]).unwrap();
        assert_eq!(commitment, eval.input_sha256, "{name}: Definition::input_sha256 is the evaluation's commitment");
        assert_eq!(serde_json::to_value(&eval.result).unwrap(), case["expected"], "{name}: wire shape");
        if case["input"] == "recovered" {
            recovered += 1;
            assert_eq!(eval.input_sha256, case["expected_input_sha256"], "{name}: input commitment");
        } else {
            assert_eq!(case["input"], "reconstructed", "{name}");
        }
    }
    assert_eq!(recovered, 13);
}

#[test]
fn every_invalid_definition_is_refused_at_its_path() {
    let cases = load("invalid-definitions.json");
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        match case.get("definition") {
            Some(definition) => {
                let error = validate_definition(definition).err().unwrap_or_else(|| panic!("{name}: accepted"));
                assert_eq!(error.path, case["expected_path"].as_str().unwrap(), "{name}: {}", error.message);
            }
            // A lone surrogate: no Rust string holds it, so the JSON parser is what refuses it.
            None => {
                let text = case["definition_json"].as_str().unwrap();
                assert!(serde_json::from_str::<Value>(text).is_err(), "{name}: parsed");
                assert!(case["expected_path"].is_null(), "{name}");
            }
        }
    }
}

#[test]
fn every_valid_variant_is_accepted_and_digested() {
    for case in load("valid-definitions.json").as_array().unwrap() {
        let definition = validate_definition(&case["definition"]).unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        assert_eq!(definition.sha256(), definition_sha256(&case["definition"]).unwrap());
        assert_eq!(definition.as_json(), &case["definition"]);
    }
}

/// The official 0.8.0 validator over the same files. Skipped (with the reason printed) when its venv is absent;
/// `make oracle-venvs` creates it, or set ALLOWLY_SDK_080_PYTHON to a Python that has `allowly==0.8.0`.
#[test]
fn official_sdk_0_8_0_agrees_on_the_same_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("ALLOWLY_SDK_080_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/oracle/.venv-sdk-0.8.0/bin/python"));
    if !python.exists() {
        println!("skipped: no official SDK 0.8.0 python at {} (make oracle-venvs)", python.display());
        return;
    }
    let output = Command::new(&python)
        .arg(root.join("tests/oracle/policy_definitions_sdk_0_8_0.py"))
        .output()
        .expect("run the SDK 0.8.0 oracle");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "SDK 0.8.0 disagrees:\n{stdout}{}", String::from_utf8_lossy(&output.stderr));
}
