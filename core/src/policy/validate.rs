//! `allowly.policy.v1` definition validation: accepts exactly what the official SDK 0.8.0 accepts.
//!
//! The rules mirror the official authoring validator one for one (tests/conformance/policy-profile-v1 holds the
//! cases and an outside-oracle test runs 0.8.0 over them), because a definition that one SDK accepts and another
//! refuses would make a policy's meaning depend on which client published it. Checks run in the official order, so
//! when a definition breaks several rules the first one reported is the one the official validator trips on.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::definition::{ActionPolicy, Condition, Definition, FieldType, Operator, Rule, is_integer, is_scalar};
use super::digest::{MAX_DEFINITION_BYTES, canonical_bytes, index, member};
use super::error::PolicyError;
use crate::model::Decision;

pub const DEFINITION_PROFILE: &str = "allowly.policy.v1";
pub const ACTION_PROFILE: &str = "allowly.basic.v1";
const MAX_SAFE: i64 = crate::receipt::json::MAX_SAFE_INTEGER;
const DECISION_WORDS: [&str; 4] = ["allow", "deny", "confirm", "escalate"];

type Checked<T> = Result<T, PolicyError>;

/// Validates `definition` against the `allowly.policy.v1` profile and returns its typed form.
pub fn validate_definition(definition: &Value) -> Result<Definition, PolicyError> {
    let Some(root) = definition.as_object() else {
        return Err(PolicyError::new("$", "definition must be an object"));
    };
    canonical_bytes(definition, "$", MAX_DEFINITION_BYTES, "definition")?;
    exact_keys(root, "$", &["profile", "agent_id", "actions", "default_expiry_days"], &[])?;
    if root["profile"] != DEFINITION_PROFILE {
        return Err(PolicyError::new("profile", format!("profile must be \"{DEFINITION_PROFILE}\"")));
    }
    let agent_id = text(&root["agent_id"], "agent_id", 128)?.to_owned();
    let default_expiry_days = match &root["default_expiry_days"] {
        Value::Null => None,
        days => Some(integer(days, "default_expiry_days", 1, 3650)? as u32),
    };
    let entries = match root["actions"].as_array() {
        Some(entries) if (1..=32).contains(&entries.len()) => entries,
        _ => return Err(PolicyError::new("actions", "actions must be an array of 1 to 32 entries")),
    };
    let mut actions: Vec<ActionPolicy> = Vec::with_capacity(entries.len());
    let mut operations: HashSet<(&str, &str)> = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = index("actions", i);
        let entry_obj = exact_keys_of(entry, &path, &["policy", "guards", "executable_operations"], &[])?;
        let policy = action_policy(&entry_obj["policy"], &member(&path, "policy"), &actions)?;
        actions.push(policy);
        guards(&entry_obj["guards"], &member(&path, "guards"))?;
        executable_operations(
            &entry_obj["executable_operations"],
            &member(&path, "executable_operations"),
            &mut operations,
        )?;
    }
    if let Some(path) = find_nul(definition, "$") {
        return Err(PolicyError::new(path, "definition must not contain NUL characters"));
    }
    Ok(Definition { json: definition.clone(), agent_id, default_expiry_days, actions })
}

/// `earlier` are the actions already validated: a name must differ from theirs and from every decision word, since
/// `action` is what a check names and a decision word there would read as a verdict.
fn action_policy(value: &Value, path: &str, earlier: &[ActionPolicy]) -> Checked<ActionPolicy> {
    let policy = exact_keys_of(value, path, &["profile", "action", "decision", "target", "fields", "rules"], &[])?;
    let name = text(&policy["action"], &member(path, "action"), 64)?.to_owned();
    if earlier.iter().any(|a| a.name == name) || DECISION_WORDS.contains(&name.as_str()) {
        return Err(PolicyError::new(
            member(path, "action"),
            "action names must be unique and must not be a decision word",
        ));
    }
    if policy["profile"] != ACTION_PROFILE {
        return Err(PolicyError::new(member(path, "profile"), format!("profile must be \"{ACTION_PROFILE}\"")));
    }
    let (decision, target) = decision_target(policy, path)?;
    let fields = declared_fields(&policy["fields"], &member(path, "fields"))?;
    let rules_path = member(path, "rules");
    let raw_rules = match policy["rules"].as_array() {
        Some(rules) if rules.len() <= 32 => rules,
        _ => return Err(PolicyError::new(rules_path, "rules must be an array of at most 32 rules")),
    };
    let mut rules: Vec<Rule> = Vec::with_capacity(raw_rules.len());
    for (j, raw) in raw_rules.iter().enumerate() {
        let rule = rule(raw, &index(&rules_path, j), &fields)?;
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(PolicyError::new(format!("{rules_path}[{j}].id"), "rule ids must be unique within an action"));
        }
        rules.push(rule);
    }
    Ok(ActionPolicy { name, decision, target, fields, rules, json: value.clone() })
}

fn declared_fields(value: &Value, path: &str) -> Checked<Vec<(String, FieldType)>> {
    let map = match value.as_object() {
        Some(map) if map.len() <= 64 => map,
        _ => return Err(PolicyError::new(path, "fields must be an object of at most 64 declared fields")),
    };
    let mut fields = Vec::with_capacity(map.len());
    for (name, declared) in map {
        let field_path = member(path, name);
        if !(1..=128).contains(&name.chars().count()) {
            return Err(PolicyError::new(field_path, "field names must be 1 to 128 characters"));
        }
        match declared.as_str().and_then(FieldType::parse) {
            Some(t) => fields.push((name.clone(), t)),
            None => {
                return Err(PolicyError::new(field_path, "field type must be string, integer, boolean, null or list"));
            }
        }
    }
    Ok(fields)
}

fn rule(value: &Value, path: &str, fields: &[(String, FieldType)]) -> Checked<Rule> {
    let raw = exact_keys_of(value, path, &["id", "decision", "target", "conditions"], &[])?;
    let id = text(&raw["id"], &member(path, "id"), 128)?.to_owned();
    let (decision, target) = decision_target(raw, path)?;
    let conditions_path = member(path, "conditions");
    let raw_conditions = match raw["conditions"].as_array() {
        Some(c) if (1..=10).contains(&c.len()) => c,
        _ => return Err(PolicyError::new(conditions_path, "conditions must be an array of 1 to 10 conditions")),
    };
    let conditions = raw_conditions
        .iter()
        .enumerate()
        .map(|(k, c)| condition(c, &index(&conditions_path, k), fields))
        .collect::<Checked<Vec<_>>>()?;
    Ok(Rule { id, decision, target, conditions })
}

/// Operand typing is what makes evaluation total: once a condition passes here, every comparison the evaluator
/// makes is between values of one declared type, so no operator ever has to guess at a coercion.
fn condition(value: &Value, path: &str, fields: &[(String, FieldType)]) -> Checked<Condition> {
    let raw = exact_keys_of(value, path, &["field", "op", "value"], &[])?;
    let (field_path, op_path, value_path) = (member(path, "field"), member(path, "op"), member(path, "value"));
    let field = text(&raw["field"], &field_path, 128)?.to_owned();
    let Some(declared) = fields.iter().find(|(name, _)| *name == field).map(|(_, t)| *t) else {
        return Err(PolicyError::new(field_path, format!("field \"{field}\" is not declared in fields")));
    };
    let Some(op) = raw["op"].as_str().and_then(Operator::parse) else {
        return Err(PolicyError::new(op_path, "unsupported operator"));
    };
    let compared = &raw["value"];
    let fail = |path: &str, message: &str| Err(PolicyError::new(path, message));
    match op {
        Operator::Exists => {
            if !compared.is_boolean() {
                return fail(&value_path, "exists takes a boolean value");
            }
        }
        Operator::Empty => {
            if declared != FieldType::List {
                return fail(&op_path, "empty applies to list fields only");
            }
            if !compared.is_boolean() {
                return fail(&value_path, "empty takes a boolean value");
            }
        }
        Operator::ContainsAny | Operator::ContainsNone => {
            if declared != FieldType::List {
                return fail(&op_path, "contains_any and contains_none apply to list fields only");
            }
            let ok = compared.as_array().is_some_and(|v| (1..=64).contains(&v.len()) && v.iter().all(is_scalar));
            if !ok {
                return fail(&value_path, "list overlap takes an array of 1 to 64 scalar values");
            }
        }
        _ if declared == FieldType::List => {
            return fail(&op_path, "list fields take only exists, empty, contains_any or contains_none");
        }
        _ => {
            let membership = matches!(op, Operator::In | Operator::NotIn);
            if membership != compared.is_array() {
                return fail(&value_path, "in and not_in take an array; every other operator takes a single value");
            }
            let values = if membership {
                compared.as_array().expect("checked above").as_slice()
            } else {
                std::slice::from_ref(compared)
            };
            if values.len() > 64 || !values.iter().all(|v| declared.admits(v)) {
                return Err(PolicyError::new(
                    value_path,
                    format!("comparison values must be of the declared type {} (at most 64)", declared.name()),
                ));
            }
            if matches!(op, Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte)
                && declared != FieldType::Integer
            {
                return fail(&op_path, "ordered comparisons apply to integer fields only");
            }
        }
    }
    Ok(Condition { field, op, value: compared.clone() })
}

/// The pairing that tells the server who resolves a decision: nobody for allow and deny, the agent's owner for
/// confirm, a named member for escalate.
fn decision_target(raw: &Map<String, Value>, path: &str) -> Checked<(Decision, Option<String>)> {
    let decision = match raw["decision"].as_str() {
        Some("allow") => Decision::Allow,
        Some("deny") => Decision::Deny,
        Some("confirm") => Decision::Confirm,
        Some("escalate") => Decision::Escalate,
        _ => {
            return Err(PolicyError::new(
                member(path, "decision"),
                "decision must be allow, deny, confirm or escalate",
            ));
        }
    };
    let target = &raw["target"];
    let target_path = member(path, "target");
    let ok = match decision {
        Decision::Allow | Decision::Deny => target.is_null(),
        Decision::Confirm => target == "agent_owner",
        Decision::Escalate => target.as_str().and_then(|t| t.strip_prefix("member:")).is_some_and(|id| {
            // Python's str.strip, which the official check uses, also strips U+001C..U+001F.
            id.chars().any(|c| !(c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))) && id.chars().count() <= 128
        }),
    };
    if !ok {
        let message = match decision {
            Decision::Allow | Decision::Deny => "allow and deny take a null target",
            Decision::Confirm => "confirm takes the target \"agent_owner\"",
            Decision::Escalate => {
                "escalate takes the target \"member:<account_user_id>\" (id not blank, at most 128 characters)"
            }
        };
        return Err(PolicyError::new(target_path, message));
    }
    Ok((decision, target.as_str().map(str::to_owned)))
}

fn guards(value: &Value, path: &str) -> Checked<()> {
    let guards = exact_keys_of(value, path, &[], &["resource_pattern", "allowed_initiators", "max_per_day"])?;
    if let Some(pattern) = guards.get("resource_pattern") {
        text(pattern, &member(path, "resource_pattern"), 256)?;
    }
    if let Some(initiators) = guards.get("allowed_initiators") {
        let p = member(path, "allowed_initiators");
        let items = match initiators.as_array() {
            Some(items) if (1..=128).contains(&items.len()) => items,
            _ => return Err(PolicyError::new(p, "allowed_initiators must be an array of 1 to 128 strings")),
        };
        let mut seen = HashSet::new();
        for (n, item) in items.iter().enumerate() {
            if !seen.insert(text(item, &index(&p, n), 128)?) {
                return Err(PolicyError::new(index(&p, n), "allowed_initiators must be unique"));
            }
        }
    }
    if let Some(max) = guards.get("max_per_day") {
        integer(max, &member(path, "max_per_day"), 1, MAX_SAFE)?;
    }
    Ok(())
}

/// An (enabled_executable_id, operation_id) pair names one operation the server may run; granting it to two actions
/// would make which policy governs it depend on lookup order, so it may appear in one action only.
fn executable_operations<'a>(value: &'a Value, path: &str, seen: &mut HashSet<(&'a str, &'a str)>) -> Checked<()> {
    let grants = match value.as_array() {
        Some(grants) if grants.len() <= 100 => grants,
        _ => return Err(PolicyError::new(path, "executable_operations must be an array of at most 100 grants")),
    };
    for (g, grant) in grants.iter().enumerate() {
        let gp = index(path, g);
        let keys = [
            "enabled_executable_id",
            "provider_id",
            "operation_id",
            "catalog_revision",
            "definition_fingerprint",
            "minimum_evidence_mode",
        ];
        let raw = exact_keys_of(grant, &gp, &keys, &[])?;
        for key in &keys[..4] {
            text(&raw[*key], &member(&gp, key), 128)?;
        }
        let fingerprint_ok =
            raw["definition_fingerprint"].as_str().and_then(|f| f.strip_prefix("sha256:")).is_some_and(|hex| {
                hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
        if !fingerprint_ok {
            return Err(PolicyError::new(member(&gp, "definition_fingerprint"), "must be sha256:<64 lowercase hex>"));
        }
        if !matches!(raw["minimum_evidence_mode"].as_str(), Some("receipt" | "witnessed")) {
            return Err(PolicyError::new(member(&gp, "minimum_evidence_mode"), "must be receipt or witnessed"));
        }
        let identity = (
            raw["enabled_executable_id"].as_str().expect("checked above"),
            raw["operation_id"].as_str().expect("checked above"),
        );
        if !seen.insert(identity) {
            return Err(PolicyError::new(gp, "an executable operation may belong to only one action"));
        }
    }
    Ok(())
}

fn exact_keys_of<'a>(
    value: &'a Value,
    path: &str,
    required: &[&str],
    optional: &[&str],
) -> Checked<&'a Map<String, Value>> {
    let Some(map) = value.as_object() else {
        return Err(PolicyError::new(path, "must be an object"));
    };
    exact_keys(map, path, required, optional)?;
    Ok(map)
}

/// Exact key sets: an unknown key is refused rather than ignored, because a field this profile does not know (an old
/// `constraints`, a `default_decision`) would otherwise look like it has an effect it does not have.
fn exact_keys(map: &Map<String, Value>, path: &str, required: &[&str], optional: &[&str]) -> Checked<()> {
    if let Some(missing) = required.iter().find(|k| !map.contains_key(**k)) {
        return Err(PolicyError::new(member(path, missing), "required member is missing"));
    }
    if let Some(unknown) = map.keys().find(|k| !required.contains(&k.as_str()) && !optional.contains(&k.as_str())) {
        return Err(PolicyError::new(member(path, unknown), "unknown member"));
    }
    Ok(())
}

/// A nonempty string of at most `max` characters (Unicode scalar values, as the official validator counts them).
fn text<'a>(value: &'a Value, path: &str, max: usize) -> Checked<&'a str> {
    match value.as_str() {
        Some(s) if (1..=max).contains(&s.chars().count()) => Ok(s),
        _ => Err(PolicyError::new(path, format!("must be a string of 1 to {max} characters"))),
    }
}

/// A JSON integer in `min..=max`; `true` is not `1` here, as everywhere in the profile.
fn integer(value: &Value, path: &str, min: i64, max: i64) -> Checked<i64> {
    match value.as_i64() {
        Some(n) if is_integer(value) && (min..=max).contains(&n) => Ok(n),
        _ => Err(PolicyError::new(path, format!("must be an integer from {min} to {max}"))),
    }
}

/// The path of the first string or member name holding a NUL. NUL is refused because stores and logs downstream
/// (C strings, PostgreSQL text) truncate or reject it, so the retained definition would differ from the signed one.
fn find_nul(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(path.to_owned()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| find_nul(v, &index(path, i))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let p = member(path, k);
            if k.contains('\0') { Some(p) } else { find_nul(v, &p) }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_whole_document_is_named_dollar() {
        assert_eq!(validate_definition(&json!([])).unwrap_err().path, "$");
        assert_eq!(validate_definition(&json!({})).unwrap_err().path, "profile");
    }

    #[test]
    fn a_valid_definition_exposes_what_callers_need() {
        let value = json!({
            "profile": "allowly.policy.v1", "agent_id": "agent", "default_expiry_days": 30,
            "actions": [{"policy": {"profile": "allowly.basic.v1", "action": "a", "decision": "escalate",
                                    "target": "member:x", "fields": {}, "rules": []},
                         "guards": {}, "executable_operations": []}]
        });
        let definition = validate_definition(&value).unwrap();
        assert_eq!(definition.agent_id(), "agent");
        assert_eq!(definition.default_expiry_days(), Some(30));
        assert_eq!(definition.action_names().collect::<Vec<_>>(), ["a"]);
        assert_eq!(definition.action_policy("a"), Some(&value["actions"][0]["policy"]));
        assert_eq!(definition.sha256(), crate::policy::definition_sha256(&value).unwrap());
    }
}
