//! Policy evidence on the wire: `policy_ref` and `policy_eval` as receipts and check responses carry them.
//!
//! These are signed evidence, so unlike the rest of the wire models unknown members are refused: the official
//! verifier refuses them, and a member we silently dropped would be one a verifier could not account for.

use serde::{Deserialize, Serialize};

use super::check::Decision;

/// Which published definition edition a decision was made under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    pub policy_id: String,
    // Signed, because every binding can carry an i64 (napi has no u64).
    /// 1, 2, … per logical policy.
    pub policy_version: i64,
    /// Lowercase hex SHA-256 of the canonical definition.
    pub definition_sha256: String,
}

/// One evaluation: the commitment to its input and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEval {
    /// Lowercase hex SHA-256 of canonical `{"policy", "action", "context"}`.
    pub input_sha256: String,
    pub result: PolicyResult,
}

/// The result of evaluating one action's `allowly.basic.v1` policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyResult {
    /// Always `allowly.basic.v1`.
    pub profile: String,
    /// Always `ok`: an evaluation that cannot complete is an error, never a result.
    pub status: String,
    pub decision: Decision,
    /// `null` for allow and deny, `agent_owner` for confirm, `member:<id>` for escalate.
    pub target: Option<String>,
    /// The rule that set the decision, or `null` when the action's own decision stands.
    pub matched_rule_id: Option<String>,
    /// The context values the reported rule read; empty when no rule is reported.
    pub evaluated_fields: serde_json::Map<String, serde_json::Value>,
}
