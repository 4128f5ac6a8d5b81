//! `requires_escalation_for` and `escalation_targets` of a scope-based authorization (`POST /v1/authorizations`):
//! which scopes escalate, and to which member at each of at most two levels. Every rule is checked before anything
//! is stored, each failure a 422 naming its field.

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};
use crate::store::{Tx, members};

/// The scope lists of one create request.
pub(super) struct Lists<'a> {
    pub confirm: &'a [String],
    pub deny: &'a [String],
    pub escalate: &'a [String],
}

/// The most levels an escalation has (level 1, then level 2).
const MAX_LEVELS: usize = 2;

/// The member id of a target `member:<id>`, if it is one.
fn member_of(target: &str) -> Option<&str> {
    target.strip_prefix("member:").filter(|id| super::members::validate_member_id(id).is_ok())
}

/// Every member a target value names, level 1 first; `None` when it is not 1 or 2 distinct `member:<id>` strings.
fn levels(target: &Value) -> Option<Vec<&str>> {
    let list: Vec<&Value> = match target {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let ids: Option<Vec<&str>> = list.iter().map(|v| v.as_str().and_then(member_of)).collect();
    let ids = ids?;
    let distinct = ids.len() != MAX_LEVELS || ids[0] != ids[1];
    (!ids.is_empty() && ids.len() <= MAX_LEVELS && distinct).then_some(ids)
}

/// The rules that need no store, as `(field, message)` pairs. `granted` are the authorization's scope names.
pub(super) fn check(granted: &[&str], lists: &Lists<'_>, targets: &Map<String, Value>) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let mut err = |field: String, message: &str| errors.push((field, message.to_owned()));
    for scope in lists.escalate {
        if !granted.contains(&scope.as_str()) {
            err("requires_escalation_for".into(), "may only name granted scopes");
        } else if !targets.contains_key(scope) {
            err(format!("escalation_targets.{scope}"), "is required for every scope in requires_escalation_for");
        }
        if lists.confirm.contains(scope) {
            err("requires_escalation_for".into(), "a scope cannot both require confirmation and escalate");
        }
        if lists.deny.contains(scope) {
            err("requires_escalation_for".into(), "a scope cannot both be denied and escalate");
        }
    }
    for (scope, target) in targets {
        let field = format!("escalation_targets.{scope}");
        if !lists.escalate.contains(scope) {
            err(field, "names a scope that is not in requires_escalation_for");
        } else if levels(target).is_none() {
            err(field, "must be \"member:<id>\" or a list of 1 or 2 distinct \"member:<id>\" (level 1, then level 2)");
        }
    }
    errors
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
        let ids: Vec<String> = levels(target).unwrap_or_default().into_iter().map(str::to_owned).collect();
        let live = members::live(tx, workspace_id, &ids).await?;
        if let Some(missing) = ids.iter().find(|id| !live.contains(id)) {
            errors.push(FieldError::new(
                &format!("escalation_targets.{scope}"),
                format!("member:{missing} is not a live member of this workspace"),
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
        ] {
            assert_eq!(bad(t.clone()), ["escalation_targets.pay"], "{t}");
        }
        assert_eq!(run(&["pay"], &[], json!({})), ["escalation_targets.pay"]);
        assert_eq!(run(&[], &[], json!({"pay": "member:l1"})), ["escalation_targets.pay"]);
        assert_eq!(run(&["nope"], &[], json!({})), ["requires_escalation_for"]);
        assert_eq!(run(&["pay"], &["pay"], json!({"pay": "member:l1"})), ["requires_escalation_for"]);
    }
}
