//! `requires_escalation_for` and `escalation_targets` of a scope-based authorization (`POST /v1/authorizations`):
//! which scopes escalate, and to which member at each of at most two levels. Every rule is checked before anything
//! is stored, each failure a 422 naming its field.

use std::collections::BTreeMap;

use allowly_core::model::authorization::check_escalations;
use allowly_core::model::member_of_target;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};
use crate::store::{Tx, members};

/// The scope lists of one create request.
pub(super) struct Lists<'a> {
    pub confirm: &'a [String],
    pub deny: &'a [String],
    pub escalate: &'a [String],
}

/// A field error of allowly-core's validation (`Error::Validation`), as this server's 422.
fn field_errors(e: allowly_core::Error) -> Vec<(String, String)> {
    match e {
        allowly_core::Error::Validation { fields, message, .. } if fields.is_empty() => {
            vec![("escalation_targets".into(), message)]
        }
        allowly_core::Error::Validation { fields, .. } => fields.into_iter().map(|f| (f.field, f.message)).collect(),
        other => vec![("escalation_targets".into(), other.to_string())],
    }
}

/// The rules that need no store, as `(field, message)` pairs: allowly-core's `check_escalations`, the function every
/// SDK applies before sending, so a client and this server never disagree about what is well formed.
pub(super) fn check(granted: &[&str], lists: &Lists<'_>, targets: &Map<String, Value>) -> Vec<(String, String)> {
    let Some(levels) = levels_of(targets) else {
        return vec![(
            "escalation_targets".into(),
            "each target must be \"member:<id>\" or a list of \"member:<id>\" (level 1, then level 2)".into(),
        )];
    };
    match check_escalations(granted, lists.confirm, lists.deny, lists.escalate, &levels) {
        Ok(()) => Vec::new(),
        Err(e) => field_errors(e),
    }
}

/// `escalation_targets` as levels per scope: a string is one level, a list of strings one per level; `None` when a
/// value is neither.
pub(crate) fn levels_of(targets: &Map<String, Value>) -> Option<BTreeMap<String, Vec<String>>> {
    targets
        .iter()
        .map(|(scope, v)| {
            let members = match v {
                Value::String(m) => vec![m.clone()],
                Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_owned)).collect::<Option<_>>()?,
                _ => return None,
            };
            Some((scope.clone(), members))
        })
        .collect()
}

/// The rule that needs the store: every member named exists in the workspace and is not revoked. Run inside the
/// create's transaction, before anything is written.
pub(super) async fn check_members(
    tx: &mut Tx,
    workspace_id: &str,
    targets: &Map<String, Value>,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (scope, target) in targets {
        let one = Map::from_iter([(scope.clone(), target.clone())]);
        let ids: Vec<String> = levels_of(&one)
            .into_iter()
            .flat_map(BTreeMap::into_values)
            .flatten()
            .filter_map(|t| member_of_target(&t).map(str::to_owned))
            .collect();
        let live = members::live(tx, workspace_id, &ids).await?;
        if let Some(missing) = ids.iter().find(|id| !live.contains(id)) {
            errors.push(FieldError::new(
                "escalation_targets",
                format!("`{scope}`: member:{missing} is not a live member of this workspace"),
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(escalate: &[&str], confirm: &[&str], targets: Value) -> Vec<String> {
        let s = |l: &[&str]| l.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (escalate, confirm) = (s(escalate), s(confirm));
        let lists = Lists { confirm: &confirm, deny: &[], escalate: &escalate };
        let targets = targets.as_object().cloned().unwrap_or_default();
        check(&["pay", "read"], &lists, &targets).into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn targets_name_one_or_two_distinct_members_of_escalating_granted_scopes() {
        assert!(run(&["pay"], &[], json!({"pay": "member:l1"})).is_empty());
        assert!(run(&["pay"], &[], json!({"pay": ["member:l1", "member:l2"]})).is_empty());
        let bad = |t: Value| run(&["pay"], &[], json!({"pay": t}));
        for t in [
            json!([]),
            json!(["member:a", "member:a"]),
            json!(["member:a", "member:b", "member:c"]),
            json!("l1"),
            json!("member:"),
            json!("member:a b"),
            json!(7),
            json!([7]),
        ] {
            assert_eq!(bad(t.clone()), ["escalation_targets"], "{t}");
        }
        assert_eq!(run(&["pay"], &[], json!({})), ["escalation_targets"]);
        assert_eq!(run(&[], &[], json!({"pay": "member:l1"})), ["escalation_targets"]);
        assert_eq!(run(&["nope"], &[], json!({})), ["requires_escalation_for"]);
        assert_eq!(run(&["pay"], &["pay"], json!({"pay": "member:l1"})), ["requires_escalation_for"]);
    }
}
