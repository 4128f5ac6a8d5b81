//! Bodies of the policy edition routes, in the shapes the official 0.8.0 SDK reads (members sorted, see `wire`).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::decisions::EditionEval;
use crate::store::policies::EditionRef;

/// One edition as `POST /v1/policies` and `GET /v1/policies/{policy_id}` answer it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyBody {
    pub created_at: String,
    /// Who created the edition: the credential's kind (members arrive with the approvals work).
    pub created_by: String,
    /// The definition exactly as hashed into `policy_ref.definition_sha256`.
    #[schema(value_type = Object)]
    pub definition: Value,
    /// When the logical policy was archived; `null` while it is live.
    pub deleted_at: Option<String>,
    pub description: Option<String>,
    pub policy_ref: EditionRef,
}

/// `GET /v1/policies`: the newest edition of each logical policy, by `policy_id`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyList {
    pub has_more: bool,
    pub items: Vec<PolicyBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /v1/setup/policies/preview`: an evaluation of a definition that is not stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyPreview {
    pub action: String,
    pub definition_sha256: String,
    pub policy_eval: EditionEval,
    /// Always `true`: nothing was stored and no receipt was issued.
    pub provisional: bool,
}

/// One authorization moved to a new edition by a publish (this server migrates none; the list is always empty).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorizationMigration {
    pub authorization_id: String,
    pub previous_authorization_id: String,
    pub user_id: String,
}

/// `POST /v1/setup/policies/publish`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyPublished {
    pub agent_id: String,
    /// Archived by this publish: none (archiving is explicit, `DELETE /v1/policies/{policy_id}`).
    pub archived_policy_ids: Vec<String>,
    /// Existing authorizations keep the edition they were granted from; a new edition applies to new ones.
    pub authorization_migrations: Vec<AuthorizationMigration>,
    pub created_at: String,
    pub created_by: String,
    pub policy_ref: EditionRef,
    pub revoked_confirmation_count: i64,
}
