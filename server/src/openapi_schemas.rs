//! JSON Schemas of the OpenAPI document's bodies (see [`crate::openapi`]). Request schemas are closed
//! (`additionalProperties: false`) because the server rejects unknown request fields with a 422 naming them.

use serde_json::{Value, json};

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

pub fn schemas() -> Value {
    let string_list = json!({"type": "array", "items": {"type": "string"}});
    // The server rejects a body with both names or neither; saying so lets generators produce accepted bodies.
    let exactly_one_of_scopes_or_actions = json!([{"required": ["scopes"]}, {"required": ["actions"]}]);
    let condition = json!({
        "type": "object", "additionalProperties": false, "required": ["field", "op"],
        "properties": {
            "field": {"type": "string"},
            "op": {"enum": ["eq", "ne", "lt", "lte", "gt", "gte", "in", "exists"]},
            "value": {}
        }
    });
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"},
                    "fields": {"type": "array", "items": {
                        "type": "object", "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
                    }}
                }
            }}
        },
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
        "Ready": {
            "type": "object", "required": ["status", "database", "signer"],
            "properties": {"status": {"enum": ["ready", "unavailable"]}, "database": {"type": "boolean"},
                           "signer": {"type": "boolean"}}
        },
        "ReceiptEnvelope": {"oneOf": [
            {"type": "object", "required": ["status", "receipt_id", "ready_at_estimate", "url"],
             "properties": {"status": {"const": "pending"}, "receipt_id": {"type": "string"},
                            "ready_at_estimate": {"type": "string", "format": "date-time"}, "url": {"type": "string"}}},
            {"type": "object", "required": ["status", "receipt"],
             "properties": {"status": {"const": "signed"}, "receipt": r("SignedReceipt")}}
        ]},
        "SignedReceipt": {
            "type": "object",
            "description": "Allowly Receipt Format wire 4; verify with the workspace key document.",
            "required": ["schema_version", "receipt_id", "workspace_id", "issued_at", "decision", "reason", "alg",
                         "key_id", "signature"],
            "properties": {
                "schema_version": {"const": "4"}, "receipt_id": {"type": "string"},
                "workspace_id": {"type": "string"}, "issued_at": {"type": "string"},
                "decision": {"type": "string"}, "reason": {"type": "string"}, "action": {"type": "string"},
                "event": {"type": "string"}, "alg": {"const": "Ed25519"}, "key_id": {"type": "string"},
                "signature": {"type": "string"}
            }
        },
        "ScopeGrant": {"oneOf": [
            {"type": "string", "minLength": 1},
            {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
                "name": {"type": "string", "minLength": 1},
                "constraints": {"type": "object", "additionalProperties": false, "properties": {
                    "max_per_day": {"type": "integer", "minimum": 1},
                    "resource_pattern": {"type": "string"},
                    "confirm_when": {"type": "array", "items": condition.clone()},
                    "deny_when": {"type": "array", "items": condition},
                    "confirm_prompt": {"type": "string"}
                }}
            }}
        ]},
        "AuthorizationCreate": {
            "type": "object", "additionalProperties": false, "required": ["user_id", "agent_id"],
            "description": "`scopes` or `actions` (the name existing clients use) is required.",
            "oneOf": exactly_one_of_scopes_or_actions.clone(),
            "properties": {
                "user_id": {"type": "string", "minLength": 1}, "agent_id": {"type": "string", "minLength": 1},
                "scopes": {"type": "array", "items": r("ScopeGrant"), "minItems": 1},
                "actions": {"type": "array", "items": r("ScopeGrant"), "minItems": 1},
                "expires_at": nullable("string"), "metadata": {"type": ["object", "null"]},
                "budget_limit_micros": {"type": ["integer", "null"], "minimum": 1},
                "requires_confirm_for": string_list, "requires_deny_for": string_list,
                "replaces": nullable("string"),
                "requires_escalation_for": {"type": "array", "maxItems": 0},
                "escalation_targets": {"type": ["object", "array", "null"]}, "policy_id": {"type": "null"}
            }
        },
        "Authorization": {
            "type": "object",
            "required": ["authorization_id", "user_id", "agent_id", "created_at", "expires_at", "receipt"],
            "properties": {
                "authorization_id": {"type": "string"}, "user_id": {"type": "string"},
                "agent_id": {"type": "string"}, "scopes": {"type": "array"}, "actions": {"type": "array"},
                "status": {"enum": ["active", "revoked", "expired"]},
                "created_at": {"type": "string"}, "expires_at": {"type": "string"},
                "requires_confirm_for": string_list, "requires_deny_for": string_list,
                "budget_limit_micros": nullable("integer"), "budget_spent_micros": {"type": "integer"},
                "metadata": {"type": "object"}, "receipt": r("ReceiptEnvelope"),
                "replaced_authorization_id": nullable("string"),
                "revocation_receipt": {"oneOf": [r("ReceiptEnvelope"), {"type": "null"}]}
            }
        },
        "Revoke": {
            "type": "object", "additionalProperties": false,
            "properties": {"revoked_by": {"type": "string", "minLength": 1}, "notes": nullable("string"),
                           "superseded_by": nullable("string")}
        },
        "Revocation": {
            "type": "object", "required": ["authorization_id", "revoked_at", "receipt", "revoked_confirmations"],
            "properties": {"authorization_id": {"type": "string"}, "revoked_at": {"type": "string"},
                           "receipt": r("ReceiptEnvelope"), "revoked_confirmations": string_list}
        },
        "CheckRequest": {
            "type": "object", "additionalProperties": false, "required": ["authorization_id"],
            "description": "`scopes` or `actions` is required (1-32 unique names).",
            "oneOf": exactly_one_of_scopes_or_actions,
            "properties": {
                "authorization_id": {"type": "string"},
                "scopes": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 32,
                           "uniqueItems": true},
                "actions": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 32,
                            "uniqueItems": true},
                "resource": nullable("string"), "context": {"type": ["object", "null"]},
                "session_id": nullable("string"), "estimated_cost_micros": {"type": ["integer", "null"], "minimum": 0}
            }
        },
        "ScopeResult": {
            "type": "object", "required": ["decision", "reason", "receipt"],
            "properties": {
                "decision": {"enum": ["allow", "confirm", "deny"]}, "reason": {"type": "string"},
                "receipt": r("ReceiptEnvelope"), "confirm_nonce": {"type": "string"},
                "confirmation_id": {"type": "string"}, "confirm_expires_at": {"type": "string"},
                "confirm_prompt_hint": {"type": "string"}, "budget": {"type": "object"}, "policy_eval": {"type": "object"}
            }
        },
        "CheckResponse": {
            "type": "object", "required": ["authorization_id", "engine_version", "results"],
            "properties": {
                "authorization_id": nullable("string"), "user_id": nullable("string"), "agent_id": nullable("string"),
                "authorization_expires_at": nullable("string"), "engine_version": {"type": "string"},
                "results": {"type": "object", "additionalProperties": r("ScopeResult")}
            }
        },
        "ConfirmationResolve": {
            "type": "object", "additionalProperties": false, "required": ["approved"],
            "properties": {"approved": {"type": "boolean"}, "ttl_seconds": {"type": "integer"}}
        },
        "ConfirmationResolution": {
            "type": "object", "required": ["decision", "confirmation_id", "authorization_id", "expires_at", "receipt"],
            "properties": {
                "decision": {"enum": ["approved", "denied_by_user"]}, "confirmation_id": {"type": "string"},
                "authorization_id": nullable("string"), "expires_at": nullable("string"),
                "receipt": r("ReceiptEnvelope")
            }
        },
        "Confirmation": {
            "type": "object", "required": ["confirmation_id", "status"],
            "properties": {
                "confirmation_id": {"type": "string"},
                "status": {"enum": ["pending", "approved", "denied_by_user", "expired", "consumed"]},
                "authorization_id": {"type": "string"}, "scope": {"type": "string"}, "resource": nullable("string")
            }
        },
        "BudgetSettlement": {
            "type": "object", "additionalProperties": false, "required": ["check_receipt_id", "actual_cost_micros"],
            "properties": {"check_receipt_id": {"type": "string"}, "actual_cost_micros": {"type": "integer", "minimum": 0}}
        },
        "BudgetSettlementResult": {
            "type": "object",
            "required": ["check_receipt_id", "authorization_id", "estimated_cost_micros", "actual_cost_micros",
                         "delta_micros", "spent_before_micros", "spent_after_micros", "receipt"],
            "properties": {
                "check_receipt_id": {"type": "string"}, "authorization_id": {"type": "string"},
                "estimated_cost_micros": {"type": "integer"}, "actual_cost_micros": {"type": "integer"},
                "delta_micros": {"type": "integer"}, "spent_before_micros": {"type": "integer"},
                "spent_after_micros": {"type": "integer"}, "receipt": r("ReceiptEnvelope")
            }
        },
        "KeyDocument": {
            "type": "object", "required": ["workspace_id", "keys"],
            "properties": {"workspace_id": {"type": "string"}, "keys": {"type": "array", "items": {"type": "object"}}}
        },
        "RotatedKey": {
            "type": "object", "required": ["key_id", "active_from", "workspace_id"],
            "properties": {"key_id": {"type": "string"}, "active_from": {"type": "string"},
                           "workspace_id": {"type": "string"}}
        },
        "ApiKeyCreate": {
            "type": "object", "additionalProperties": false, "required": ["tier", "name"],
            "properties": {"tier": {"enum": ["runtime", "setup"]},
                           "name": {"type": "string", "minLength": 1, "maxLength": 200}}
        },
        "ApiKey": {
            "type": "object", "required": ["id", "tier", "name", "prefix", "created_at", "revoked_at"],
            "properties": {
                "id": {"type": "string"}, "tier": {"enum": ["runtime", "setup"]}, "name": {"type": "string"},
                "prefix": {"type": "string"}, "created_at": {"type": "string"}, "revoked_at": nullable("string"),
                "key": {"type": ["string", "null"],
                        "description": "The key text: in the creating response only (null in an idempotent replay)."}
            }
        },
        "ApiKeyList": {"type": "object", "required": ["data"],
                       "properties": {"data": {"type": "array", "items": r("ApiKey")}}},
        "ApiKeyRevocation": {"type": "object", "required": ["id", "revoked_at"],
                             "properties": {"id": {"type": "string"}, "revoked_at": {"type": "string"}}},
        "WebhookPut": {
            "type": "object", "additionalProperties": false, "required": ["url"],
            "properties": {"url": {"type": "string", "format": "uri", "maxLength": 2048}}
        },
        "WebhookCreated": {
            "type": "object", "required": ["url", "events", "signing_secret", "created_at"],
            "properties": {"url": {"type": "string"}, "events": string_list,
                           "signing_secret": {"type": "string", "description": "`whsec_` + base64; shown once."},
                           "created_at": {"type": "string"}}
        },
        "Webhook": {
            "type": "object", "required": ["url", "events"],
            "properties": {"url": {"type": "string"}, "events": string_list, "created_at": {"type": "string"},
                           "updated_at": {"type": "string"}}
        },
        "Deleted": {"type": "object", "required": ["deleted"], "properties": {"deleted": {"const": true}}},
        "AuditPage": {
            "type": "object", "required": ["data", "next_cursor"],
            "properties": {"data": {"type": "array", "items": r("SignedReceipt")}, "next_cursor": nullable("string")}
        }
    })
}
