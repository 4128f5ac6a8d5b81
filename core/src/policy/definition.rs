//! The validated form of a definition: what [`validate_definition`](super::validate_definition) returns and
//! [`evaluate`](super::evaluate) reads.
//!
//! It keeps the exact JSON it was validated from next to the typed view, because digests and input commitments are
//! over the JSON as authored (rule order, operand types), never over a re-serialization of the typed view.

use serde_json::Value;

use crate::model::Decision;

/// A definition the `allowly.policy.v1` profile accepts. Only [`validate_definition`](super::validate_definition)
/// builds one, so holding one proves the JSON passed every rule of the profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub(crate) json: Value,
    pub(crate) agent_id: String,
    pub(crate) default_expiry_days: Option<u32>,
    pub(crate) actions: Vec<ActionPolicy>,
}

impl Definition {
    /// The definition exactly as validated.
    pub fn as_json(&self) -> &Value {
        &self.json
    }

    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    pub fn default_expiry_days(&self) -> Option<u32> {
        self.default_expiry_days
    }

    /// The declared action names, in definition order.
    pub fn action_names(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().map(|a| a.name.as_str())
    }

    /// The `policy` object of `action` exactly as authored: the `policy` member of its input commitment.
    pub fn action_policy(&self, action: &str) -> Option<&Value> {
        self.action(action).map(|a| &a.json)
    }

    /// The `guards` of `action`: limits the issuer enforces around the policy's decision (documented in
    /// docs/policy-semantics.md), not part of evaluation.
    pub fn guards(&self, action: &str) -> Option<Guards> {
        let entry = self.json["actions"].as_array()?.iter().find(|e| e["policy"]["action"] == action)?;
        let g = &entry["guards"];
        Some(Guards {
            resource_pattern: g["resource_pattern"].as_str().map(str::to_owned),
            allowed_initiators: g["allowed_initiators"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
            max_per_day: g["max_per_day"].as_u64(),
        })
    }

    /// The `policy_eval.input_sha256` an evaluation of `action` for `context` commits to, without evaluating: what a
    /// caller compares a preview's or a receipt's commitment with. Refused like [`evaluate`](super::evaluate) refuses
    /// an undeclared action or a context that is not a bounded canonical object.
    pub fn input_sha256(&self, action: &str, context: &Value) -> Result<String, super::PolicyError> {
        let Some(policy) = self.action_policy(action) else {
            return Err(super::PolicyError::new(
                "action",
                format!("action \"{action}\" is not declared in the definition"),
            ));
        };
        super::digest::check_context(context)?;
        super::input_sha256(policy, action, context)
    }

    pub(crate) fn action(&self, action: &str) -> Option<&ActionPolicy> {
        self.actions.iter().find(|a| a.name == action)
    }

    /// Lowercase hex SHA-256 of the canonical definition, as `policy_ref.definition_sha256` carries it.
    pub fn sha256(&self) -> String {
        super::definition_sha256(&self.json).expect("a validated definition is bounded canonical JSON")
    }
}

/// The validated `guards` of one action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guards {
    pub resource_pattern: Option<String>,
    pub allowed_initiators: Option<Vec<String>>,
    pub max_per_day: Option<u64>,
}

/// One action's `allowly.basic.v1` policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActionPolicy {
    pub name: String,
    pub decision: Decision,
    pub target: Option<String>,
    /// Declared fields in name order (a JSON object has no order that means anything).
    pub fields: Vec<(String, FieldType)>,
    pub rules: Vec<Rule>,
    pub json: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub id: String,
    pub decision: Decision,
    pub target: Option<String>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub field: String,
    pub op: Operator,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    String,
    Integer,
    Boolean,
    Null,
    List,
}

impl FieldType {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            "null" => Self::Null,
            "list" => Self::List,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Null => "null",
            Self::List => "list",
        }
    }

    /// Whether `value` has this type. Booleans are never integers, and a list holds scalars only, because the
    /// profile compares with typed equality and a nested value has no defined comparison.
    pub fn admits(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => is_integer(value),
            Self::Boolean => value.is_boolean(),
            Self::Null => value.is_null(),
            Self::List => value.as_array().is_some_and(|items| items.iter().all(is_scalar)),
        }
    }
}

pub(crate) fn is_integer(value: &Value) -> bool {
    value.as_number().is_some_and(|n| n.is_i64() || n.is_u64())
}

/// A list element: string, integer, boolean or null.
pub(crate) fn is_scalar(value: &Value) -> bool {
    value.is_string() || is_integer(value) || value.is_boolean() || value.is_null()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    NotIn,
    Exists,
    ContainsAny,
    ContainsNone,
    Empty,
}

impl Operator {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "in" => Self::In,
            "not_in" => Self::NotIn,
            "exists" => Self::Exists,
            "contains_any" => Self::ContainsAny,
            "contains_none" => Self::ContainsNone,
            "empty" => Self::Empty,
            _ => return None,
        })
    }
}
