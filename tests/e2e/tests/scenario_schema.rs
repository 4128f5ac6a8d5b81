//! Every `tests/scenarios/*.json` file is valid against `tests/scenarios/schema.json`, is named after its file, and
//! the scenarios together expect every check reason code of wire-v1. The validator below implements exactly the
//! JSON Schema keywords the schema uses (and rejects any other, so the schema cannot silently outgrow it).

#[path = "common/scenario.rs"]
mod scenario;

use allowly_core::model::reason;
use scenario::{read_json as read, scenario_files, scenarios_dir as dir};
use serde_json::Value;

const ANNOTATIONS: &[&str] = &["$schema", "$id", "$defs", "title", "description", "$comment"];

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("schema: unknown type {other}"),
    }
}

fn validate(root: &Value, schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(s) = schema.as_object() else { return };
    for (k, rule) in s {
        match k.as_str() {
            "$ref" => {
                let name = rule.as_str().and_then(|r| r.strip_prefix("#/$defs/")).expect("only #/$defs/ refs");
                validate(root, &root["$defs"][name], v, path, errors);
            }
            "type" => {
                let ok = match rule {
                    Value::String(t) => type_ok(t, v),
                    Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().expect("type name"), v)),
                    _ => panic!("schema: bad type"),
                };
                if !ok {
                    errors.push(format!("{path}: not of type {rule}"));
                }
            }
            "enum" if !rule.as_array().expect("enum list").contains(v) => {
                errors.push(format!("{path}: not one of {rule}"))
            }
            "const" if rule != v => errors.push(format!("{path}: not {rule}")),
            "required" => {
                for name in rule.as_array().expect("required list") {
                    if v.is_object() && v.get(name.as_str().expect("name")).is_none() {
                        errors.push(format!("{path}: missing {name}"));
                    }
                }
            }
            "properties" | "additionalProperties" => {
                let Some(obj) = v.as_object() else { continue };
                if k == "additionalProperties" {
                    for (name, value) in obj {
                        if s.get("properties").and_then(|p| p.get(name)).is_some() {
                            continue;
                        }
                        match rule {
                            Value::Bool(false) => errors.push(format!("{path}: unexpected member {name}")),
                            Value::Bool(true) => {}
                            sub => validate(root, sub, value, &format!("{path}.{name}"), errors),
                        }
                    }
                } else {
                    for (name, sub) in rule.as_object().expect("properties object") {
                        if let Some(value) = obj.get(name) {
                            validate(root, sub, value, &format!("{path}.{name}"), errors);
                        }
                    }
                }
            }
            "items" => {
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    validate(root, rule, item, &format!("{path}[{i}]"), errors);
                }
            }
            "minItems" if v.as_array().is_some_and(|a| (a.len() as u64) < rule.as_u64().expect("n")) => {
                errors.push(format!("{path}: fewer than {rule} items"))
            }
            "minLength" if v.as_str().is_some_and(|t| (t.chars().count() as u64) < rule.as_u64().expect("n")) => {
                errors.push(format!("{path}: shorter than {rule}"))
            }
            "minimum" if v.as_f64().is_some_and(|x| x < rule.as_f64().expect("n")) => {
                errors.push(format!("{path}: below {rule}"))
            }
            "anyOf" => {
                let ok = rule.as_array().expect("anyOf list").iter().any(|sub| {
                    let mut e = Vec::new();
                    validate(root, sub, v, path, &mut e);
                    e.is_empty()
                });
                if !ok {
                    errors.push(format!("{path}: matches none of anyOf"));
                }
            }
            "enum" | "const" | "minItems" | "minLength" | "minimum" => {}
            other if ANNOTATIONS.contains(&other) => {}
            other => panic!("schema keyword {other} is not implemented by this validator"),
        }
    }
}

#[test]
fn every_scenario_file_matches_the_schema() {
    let schema = read(&dir().join("schema.json"));
    let files = scenario_files();
    assert!(files.len() >= 25, "only {} scenarios", files.len());
    let mut errors = Vec::new();
    for f in &files {
        let doc = read(f);
        let stem = f.file_stem().and_then(|s| s.to_str()).expect("stem");
        if doc["name"] != stem {
            errors.push(format!("{stem}: name is {}", doc["name"]));
        }
        validate(&schema, &schema, &doc, stem, &mut errors);
    }
    // A broken document must be caught, or the check above proves nothing.
    let mut probe = Vec::new();
    validate(
        &schema,
        &schema,
        &serde_json::json!({"name": "x", "steps": [{"op": "nope"}], "extra": 1}),
        "probe",
        &mut probe,
    );
    assert!(probe.len() >= 4, "the validator missed errors: {probe:?}");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

fn reasons_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("reason") {
                out.push(r.clone());
            }
            o.values().for_each(|x| reasons_in(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| reasons_in(x, out)),
        _ => {}
    }
}

#[test]
fn the_scenarios_expect_every_reason_code() {
    let mut seen = Vec::new();
    for f in scenario_files() {
        let doc = read(&f);
        if doc.get("skip").is_none() {
            for step in doc["steps"].as_array().expect("steps") {
                reasons_in(step.get("expect").unwrap_or(&Value::Null), &mut seen);
            }
        }
    }
    let all = [
        reason::SCOPE_GRANTED,
        reason::USER_CONFIRMED,
        reason::SCOPE_REQUIRES_USER_CONFIRMATION,
        reason::USER_REJECTED,
        reason::AUTHORIZATION_NOT_FOUND,
        reason::AUTHORIZATION_REVOKED,
        reason::AUTHORIZATION_EXPIRED,
        reason::SCOPE_NOT_IN_AUTHORIZATION,
        reason::DENY_CONDITION_MATCHED,
        reason::RESOURCE_NOT_PERMITTED,
        reason::RATE_LIMIT_EXCEEDED,
        reason::BUDGET_EXCEEDED,
        reason::FALLBACK_CLOSED_UNREACHABLE,
        reason::FALLBACK_CLOSED_TIMEOUT,
        reason::FALLBACK_OPEN_UNREACHABLE,
        reason::FALLBACK_OPEN_TIMEOUT,
        reason::SCOPE_REQUIRES_ESCALATION,
        reason::ESCALATION_APPROVED,
        reason::ESCALATION_REJECTED,
    ];
    let missing: Vec<&str> = all.iter().copied().filter(|r| !seen.iter().any(|s| s == r)).collect();
    assert!(missing.is_empty(), "no scenario expects {missing:?}");
}
