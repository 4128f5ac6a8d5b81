//! Which core types each binding shows, under which name, and the few fields whose shape is language-specific.
//!
//! Everything not listed here follows the type rules of the binding's renderer, so a new field of a listed core type
//! needs no entry: it appears in every binding when `make models` runs.

/// Direction of a record: a response read from core, a request built by the caller and handed to core, or both
/// (a grant's constraints are sent on create and read back on get).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Out,
    In,
    Both,
}

pub struct Record {
    /// The core type, as `allowly_core::<path>::<core>`.
    pub core: &'static str,
    pub path: &'static str,
    pub dir: Dir,
    pub node: Option<&'static str>,
    pub swift: Option<&'static str>,
    /// The Python wrapper struct (its class is declared by hand in `models/mod.rs`) and its Python class name.
    pub python: Option<(&'static str, &'static str)>,
}

const fn out(core: &'static str, node: bool, swift: bool, python: Option<(&'static str, &'static str)>) -> Record {
    Record {
        core,
        path: "model",
        dir: Dir::Out,
        node: if node { Some(core) } else { None },
        swift: if swift { Some(core) } else { None },
        python,
    }
}

pub const RECORDS: &[Record] = &[
    out("BudgetInfo", true, true, Some(("PyBudget", "Budget"))),
    out("ScopeResult", true, true, Some(("PyScopeResult", "ScopeResult"))),
    out("CheckResponse", true, true, Some(("PyCheckResult", "CheckResult"))),
    out("Authorization", true, true, Some(("PyAuthorization", "Authorization"))),
    out("Revocation", true, true, Some(("PyRevocation", "Revocation"))),
    out("Settlement", true, true, Some(("PySettlement", "Settlement"))),
    out("ConfirmationResolution", true, true, Some(("PyConfirmationResolution", "ConfirmationResolution"))),
    out("Confirmation", true, true, Some(("PyConfirmation", "Confirmation"))),
    out("ConfirmationMonitor", true, true, Some(("PyConfirmationMonitor", "ConfirmationMonitor"))),
    out("EscalationMonitor", true, true, Some(("PyEscalationMonitor", "EscalationMonitor"))),
    out("EscalationStep", true, true, Some(("PyEscalationStep", "EscalationStep"))),
    out("EscalationResolved", true, true, Some(("PyEscalationResolved", "EscalationResolved"))),
    // Policy editions (the official 0.8.0 shapes).
    out("PolicyRef", true, true, Some(("PyPolicyRef", "PolicyRef"))),
    out("PolicyResult", true, true, Some(("PyPolicyResult", "PolicyResult"))),
    out("PolicyEval", true, true, Some(("PyPolicyEval", "PolicyEval"))),
    out("Policy", true, true, Some(("PyPolicy", "Policy"))),
    out("PolicyPage", true, true, Some(("PyPolicyPage", "PolicyPage"))),
    out("PolicyPreview", true, true, Some(("PyPolicyPreview", "PolicyPreview"))),
    out("AuthorizationMigration", true, true, Some(("PyAuthorizationMigration", "AuthorizationMigration"))),
    out("PolicyPublication", true, true, Some(("PyPolicyPublication", "PolicyPublication"))),
    out("EditionAuthorization", true, true, Some(("PyEditionAuthorization", "EditionAuthorization"))),
    // The admin client (setup key).
    out("ApiKey", true, true, Some(("PyApiKey", "ApiKey"))),
    out("CreatedApiKey", true, true, Some(("PyCreatedApiKey", "CreatedApiKey"))),
    out("ApiKeyRevocation", true, true, Some(("PyApiKeyRevocation", "ApiKeyRevocation"))),
    out("Member", true, true, Some(("PyMember", "Member"))),
    out("CreatedMember", true, true, Some(("PyCreatedMember", "CreatedMember"))),
    out("MemberRevocation", true, true, Some(("PyMemberRevocation", "MemberRevocation"))),
    out("WebhookEndpoint", true, true, Some(("PyWebhookEndpoint", "WebhookEndpoint"))),
    out("WebhookSecret", true, true, Some(("PyWebhookSecret", "WebhookSecret"))),
    out("SigningKeyRotation", true, true, Some(("PySigningKeyRotation", "SigningKeyRotation"))),
    out("AuditPage", true, true, Some(("PyAuditPage", "AuditPage"))),
    out("AuditRow", true, true, Some(("PyAuditRow", "AuditRow"))),
    // The receipt envelope, flattened by core (`ReceiptParts`); `From<ReceiptEnvelope>` goes through it.
    Record {
        core: "ReceiptParts",
        path: "model",
        dir: Dir::Out,
        node: Some("ReceiptEnvelope"),
        swift: Some("ReceiptEnvelope"),
        python: None,
    },
    Record {
        core: "ConfirmPrompt",
        path: "client",
        dir: Dir::Out,
        node: None,
        swift: Some("ConfirmPrompt"),
        python: None,
    },
    Record {
        core: "VerifiedReceipt",
        path: "receipt",
        dir: Dir::Out,
        node: Some("VerifiedReceipt"),
        swift: Some("VerifiedReceipt"),
        python: Some(("crate::verify::PyVerifiedReceipt", "VerifiedReceipt")),
    },
    Record {
        core: "CheckRequest",
        path: "model",
        dir: Dir::In,
        node: Some("CheckRequest"),
        swift: Some("CheckRequest"),
        python: None,
    },
    Record {
        core: "Condition",
        path: "model",
        dir: Dir::Both,
        node: Some("Condition"),
        swift: Some("Condition"),
        python: None,
    },
    Record {
        core: "ScopeConstraints",
        path: "model",
        dir: Dir::Both,
        node: Some("ScopeConstraints"),
        swift: Some("ScopeConstraints"),
        python: None,
    },
    Record {
        core: "RevokeRequest",
        path: "model",
        dir: Dir::In,
        node: Some("RevokeOptions"),
        swift: None,
        python: None,
    },
    Record {
        core: "SettlementRequest",
        path: "model",
        dir: Dir::In,
        node: Some("SettlementRequest"),
        swift: None,
        python: None,
    },
    Record {
        core: "CreateAuthorizationRequest",
        path: "model",
        dir: Dir::In,
        node: Some("CreateAuthorizationRequest"),
        swift: Some("CreateAuthorizationRequest"),
        python: None,
    },
];

/// Unit enums a binding shows as its own enum. Every other core unit enum reaches a binding as its wire string.
pub struct Enum {
    pub core: &'static str,
    /// The module under `allowly_core` (`""` for the crate root).
    pub path: &'static str,
    pub node: Option<&'static str>,
    pub swift: Option<&'static str>,
}

pub const ENUMS: &[Enum] = &[
    Enum { core: "Decision", path: "model", node: Some("Decision"), swift: Some("DecisionKind") },
    Enum { core: "ReceiptStatus", path: "model", node: Some("ReceiptStatus"), swift: Some("ReceiptStatus") },
    Enum { core: "ConditionOp", path: "model", node: Some("ConditionOp"), swift: Some("ConditionOp") },
    Enum {
        core: "AuthorizationStatus",
        path: "model",
        node: Some("AuthorizationStatus"),
        swift: Some("AuthorizationStatus"),
    },
    Enum { core: "ReceiptKind", path: "receipt", node: None, swift: Some("ReceiptKind") },
    Enum { core: "VerificationErrorKind", path: "", node: None, swift: Some("VerificationErrorKind") },
];

/// Core types mapped by hand in every binding (their shape differs by language): `(core, node, swift, python)`.
/// A field of such a type converts with `Into` (Node, Swift) or becomes the Python wrapper.
pub const HAND_MAPPED: &[(&str, &str, &str, (&str, &str))] = &[
    ("ReceiptEnvelope", "ReceiptEnvelope", "ReceiptEnvelope", ("PyReceipt", "Receipt")),
    ("SignedReceipt", "SignedReceipt", "SignedReceipt", ("PySignedReceipt", "SignedReceipt")),
    ("ScopeGrant", "", "ScopeGrant", ("", "")),
    // Always shaped by a `SECRETS` entry below; listed so the type is known.
    ("Secret", "String", "SecretText", ("", "")),
];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Node,
    Swift,
    Python,
}

/// A field whose binding shape is chosen by hand.
pub struct Custom {
    pub binding: Binding,
    pub record: &'static str,
    pub field: &'static str,
    /// The binding's field type (Python: the getter's return type).
    pub ty: &'static str,
    /// Conversion. Out records: from the core value `v` (Python: from `&self.inner`). In records: from the binding
    /// value `v`; Swift's may use `?`.
    pub expr: &'static str,
    /// TypeScript type (Node) or stub annotation (Python), when the default would be wrong.
    pub annotation: Option<&'static str>,
}

pub const CUSTOM: &[Custom] = &[
    // Escalation approvers by level: a plain string-list map in JavaScript and Swift/Kotlin (core keeps it ordered).
    Custom {
        binding: Binding::Node,
        record: "CreateAuthorizationRequest",
        field: "escalation_targets",
        ty: "Option<HashMap<String, Vec<String>>>",
        expr: "v.unwrap_or_default().into_iter().collect()",
        annotation: Some("Record<string, string[]>"),
    },
    Custom {
        binding: Binding::Swift,
        record: "CreateAuthorizationRequest",
        field: "escalation_targets",
        ty: "Option<HashMap<String, Vec<String>>>",
        expr: "v.unwrap_or_default().into_iter().collect()",
        annotation: None,
    },
    // A grant is a bare string or `{name, constraints}` in JavaScript, as on the wire.
    Custom {
        binding: Binding::Node,
        record: "Authorization",
        field: "scopes",
        ty: "Vec<Either<String, ScopeGrant>>",
        expr: "v.into_iter().map(grant_from_core).collect()",
        annotation: None,
    },
    Custom {
        binding: Binding::Node,
        record: "CreateAuthorizationRequest",
        field: "scopes",
        ty: "Vec<Either<String, ScopeGrant>>",
        expr: "v.into_iter().map(grant_to_core).collect()",
        annotation: None,
    },
    // Conditions carry JSON text in Swift/Kotlin, which may not parse.
    Custom {
        binding: Binding::Swift,
        record: "CreateAuthorizationRequest",
        field: "scopes",
        ty: "Vec<ScopeGrant>",
        expr: "v.into_iter().map(ScopeGrant::into_core).collect::<Result<_>>()?",
        annotation: None,
    },
    // The nonce is an opaque object in Swift/Kotlin, so no generated `description` / `toString` prints it.
    Custom {
        binding: Binding::Swift,
        record: "ScopeResult",
        field: "confirm_nonce",
        ty: "Option<Arc<ConfirmNonce>>",
        expr: "v.map(|value| Arc::new(ConfirmNonce { value }))",
        annotation: None,
    },
    // Reason codes are strings in core (a newer server's reason passes through) and the `Reason` union in TypeScript.
    Custom {
        binding: Binding::Node,
        record: "ScopeResult",
        field: "reason",
        ty: "String",
        expr: "v",
        annotation: Some("Reason"),
    },
    // Python: a policy edition's evaluation is a `PolicyEval` (attribute access, as 0.8.0's results have); the older
    // scope-grant shape stays a dict.
    Custom {
        binding: Binding::Python,
        record: "ScopeResult",
        field: "policy_eval",
        ty: "PyResult<Option<Py<PyAny>>>",
        expr: "policy_eval_py(py, &self.inner)",
        annotation: Some("Optional[Union[PolicyEval, Dict[str, Any]]]"),
    },
    // Python lists the granted names; `to_dict()["scopes"]` has their constraints.
    Custom {
        binding: Binding::Python,
        record: "Authorization",
        field: "scopes",
        ty: "Vec<String>",
        expr: "self.inner.scope_names().map(str::to_owned).collect()",
        annotation: Some("List[str]"),
    },
];

// Secrets shown once (a new API key's text, a webhook signing secret): a plain string to Python and JavaScript
// (Python's repr leaves it out), the opaque `SecretText` in Swift/Kotlin so no generated `toString` prints it.
const fn secret(binding: Binding, record: &'static str, field: &'static str, optional: bool) -> Custom {
    let (ty, expr, annotation) = match (binding, optional) {
        (Binding::Python, true) => {
            ("Option<&str>", "self.inner.key.as_ref().map(|k| k.expose())", Some("Optional[str]"))
        }
        (Binding::Python, false) => ("&str", "self.inner.signing_secret.expose()", Some("str")),
        (Binding::Node, true) => ("Option<String>", "v.map(|k| k.expose().to_owned())", None),
        (Binding::Node, false) => ("String", "v.expose().to_owned()", None),
        (Binding::Swift, true) => {
            ("Option<Arc<SecretText>>", "v.map(|k| Arc::new(SecretText { value: k.expose().to_owned() }))", None)
        }
        (Binding::Swift, false) => ("Arc<SecretText>", "Arc::new(SecretText { value: v.expose().to_owned() })", None),
    };
    Custom { binding, record, field, ty, expr, annotation }
}

pub const SECRETS: &[Custom] = &[
    secret(Binding::Python, "CreatedApiKey", "key", true),
    secret(Binding::Node, "CreatedApiKey", "key", true),
    secret(Binding::Swift, "CreatedApiKey", "key", true),
    secret(Binding::Python, "WebhookSecret", "signing_secret", false),
    secret(Binding::Node, "WebhookSecret", "signing_secret", false),
    secret(Binding::Swift, "WebhookSecret", "signing_secret", false),
    // Python reads the field by name, so a const fn (no string formatting) spells the expression out.
    Custom {
        binding: Binding::Python,
        record: "CreatedMember",
        field: "credential",
        ty: "&str",
        expr: "self.inner.credential.expose()",
        annotation: Some("str"),
    },
    secret(Binding::Node, "CreatedMember", "credential", false),
    secret(Binding::Swift, "CreatedMember", "credential", false),
];

pub fn custom(binding: Binding, record: &str, field: &str) -> Option<&'static Custom> {
    CUSTOM.iter().chain(SECRETS).find(|c| c.binding == binding && c.record == record && c.field == field)
}

/// The core source files read, relative to the repository root.
pub const CORE_FILES: &[&str] = &[
    "core/src/model/admin.rs",
    "core/src/model/authorization.rs",
    "core/src/model/budget.rs",
    "core/src/model/check.rs",
    "core/src/model/confirmation.rs",
    "core/src/model/escalation.rs",
    "core/src/model/members.rs",
    "core/src/model/policy.rs",
    "core/src/model/policies.rs",
    "core/src/model/edition_authorization.rs",
    "core/src/model/receipt.rs",
    "core/src/client/confirmations.rs",
    "core/src/receipt/verify.rs",
    "core/src/error.rs",
];
