#!/usr/bin/env python3
"""Writes cases.json, invalid-definitions.json and valid-definitions.json next to this script.

Run with the official SDK 0.8.0 venv (it needs `allowly_receipt_format.canonicalize` to test candidate contexts):

    tests/oracle/.venv-sdk-0.8.0/bin/python tests/conformance/policy-profile-v1/generate.py

Only the stdlib and the official package are used, never our own code, so the data stays an outside reference.
The output is deterministic; rerunning it must leave the files unchanged.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path

from allowly_receipt_format import canonicalize

HERE = Path(__file__).resolve().parent
OFFICIAL = json.loads((HERE / "official-policy-profile-v1.json").read_text(encoding="utf-8"))["signature_cases"]

# The context the action_* cases' evaluated_fields show (their rule reads `flag` and `items`).
CONDITIONAL = {"flag": False, "items": [1, None, True, "x", "x"]}


def payload(case: dict) -> dict:
    text = case["receipt"]["payload"]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def commitment(policy: dict, action: str, context: dict) -> str:
    return hashlib.sha256(canonicalize({"policy": policy, "action": action, "context": context})).hexdigest()


def reconstructed_context(name: str, evaluated: dict) -> dict:
    """The context a case's name and evaluated_fields describe, when the signed commitment cannot be matched."""
    if name.startswith("or_"):
        _, first, second, _ = name.split("_")
        return {"first": first == "True", "second": second == "True"}
    if name.startswith("action_"):
        # Same context for every action_<decision>_rule_<decision> and _no_match case: the rule reads it, and
        # the nonmatching rule's operand ("absent") is not in it.
        return copy.deepcopy(CONDITIONAL)
    return copy.deepcopy(evaluated)


def cases() -> list[dict]:
    out = []
    for case in OFFICIAL:
        signed = payload(case)
        evaluation = signed["policy_eval"]
        action = signed["action"]
        policy = next(a["policy"] for a in case["definition"]["actions"] if a["policy"]["action"] == action)
        evaluated = evaluation["result"]["evaluated_fields"]
        candidates = [evaluated, {}]
        recovered = next((c for c in candidates if commitment(policy, action, c) == evaluation["input_sha256"]), None)
        context = recovered if recovered is not None else reconstructed_context(case["name"], evaluated)
        out.append({
            "name": case["name"],
            "action": action,
            "context": context,
            "expected": evaluation["result"],
            "expected_input_sha256": evaluation["input_sha256"],
            "expected_definition_sha256": signed["policy_ref"]["definition_sha256"],
            "input": "recovered" if recovered is not None else "reconstructed",
        })
    return out


# The base every invalid case edits: the official `rule_deny` definition, as 0.8.0's own tests use it.
BASE = OFFICIAL[1]["definition"]
COND = "actions[0].policy.rules[0].conditions[0]"
GRANT = {
    "enabled_executable_id": "exe_1", "provider_id": "prov_1", "operation_id": "op_1", "catalog_revision": "rev_1",
    "definition_fingerprint": "sha256:" + "a" * 64, "minimum_evidence_mode": "receipt",
}


def resolve(doc, pointer: list):
    for part in pointer:
        doc = doc[part]
    return doc


def edited(edits: list) -> dict:
    """Applies data edits: ["set", pointer, value], ["remove", pointer], ["append_copy", pointer_of_list]."""
    doc = copy.deepcopy(BASE)
    for edit in edits:
        kind, pointer = edit[0], edit[1]
        parent = resolve(doc, pointer[:-1]) if pointer else None
        if kind == "set":
            parent[pointer[-1]] = copy.deepcopy(edit[2])
        elif kind == "remove":
            del parent[pointer[-1]]
        elif kind == "append_copy":
            target = resolve(doc, pointer)
            target.append(copy.deepcopy(target[0]))
        else:
            raise ValueError(kind)
    return doc


P = ["actions", 0, "policy"]
C = P + ["rules", 0, "conditions", 0]
G = ["actions", 0, "guards"]


def list_condition(declared, op, value):
    return [["set", P + ["fields", "tags"], declared], ["set", P + ["rules", 0, "conditions"], [{"field": "tags", "op": op, "value": value}]]]


# (name, source, edits, expected path). `source` says where the case comes from: "sdk-0.8.0" for 0.8.0's
# tests/test_policies.py lists, "allowly-core" for boundaries we add from the validator's rules.
INVALID = [
    ("old_constraints", "sdk-0.8.0", [["set", ["actions", 0, "constraints"], {}]], "actions[0].constraints"),
    ("requires_map", "sdk-0.8.0", [["set", ["requires_confirm_for"], []]], "requires_confirm_for"),
    ("missing_expiry", "sdk-0.8.0", [["remove", ["default_expiry_days"]]], "default_expiry_days"),
    ("float_expiry", "sdk-0.8.0", [["set", ["default_expiry_days"], 1.0]], "default_expiry_days"),
    ("bool_expiry", "sdk-0.8.0", [["set", ["default_expiry_days"], True]], "default_expiry_days"),
    ("nul_agent", "sdk-0.8.0", [["set", ["agent_id"], "agent\x00"]], "agent_id"),
    ("surrogate", "sdk-0.8.0", [["set", ["agent_id"], "agent\ud800"]], None),
    ("action_decision_label", "sdk-0.8.0", [["set", P + ["action"], "allow"]], "actions[0].policy.action"),
    ("action_too_long", "sdk-0.8.0", [["set", P + ["action"], "a" * 65]], "actions[0].policy.action"),
    ("unknown_basic_key", "sdk-0.8.0", [["set", P + ["extra"], True]], "actions[0].policy.extra"),
    ("duplicate_action", "sdk-0.8.0", [["append_copy", ["actions"]]], "actions[1].policy.action"),
    ("guard_null", "sdk-0.8.0", [["set", G + ["max_per_day"], None]], "actions[0].guards.max_per_day"),
    ("guard_bool", "sdk-0.8.0", [["set", G + ["max_per_day"], True]], "actions[0].guards.max_per_day"),
    ("guard_unknown", "sdk-0.8.0", [["set", G + ["confirmation"], True]], "actions[0].guards.confirmation"),
    ("guard_duplicate_initiator", "sdk-0.8.0", [["set", G + ["allowed_initiators"], ["a", "a"]]],
     "actions[0].guards.allowed_initiators[1]"),
    ("action_bad_target", "sdk-0.8.0", [["set", P + ["decision"], "allow"], ["set", P + ["target"], "agent_owner"]],
     "actions[0].policy.target"),
    ("deny_target", "sdk-0.8.0", [["set", P + ["decision"], "deny"], ["set", P + ["target"], "agent_owner"]],
     "actions[0].policy.target"),
    ("confirm_team_target", "sdk-0.8.0", [["set", P + ["decision"], "confirm"], ["set", P + ["target"], "team:legal"]],
     "actions[0].policy.target"),
    ("confirm_null_target", "sdk-0.8.0", [["set", P + ["decision"], "confirm"], ["set", P + ["target"], None]],
     "actions[0].policy.target"),
    ("escalate_unknown_target", "sdk-0.8.0", [["set", P + ["decision"], "escalate"], ["set", P + ["target"], "team:legal"]],
     "actions[0].policy.target"),
    ("escalate_empty_member", "sdk-0.8.0", [["set", P + ["decision"], "escalate"], ["set", P + ["target"], "member: "]],
     "actions[0].policy.target"),
    ("escalate_null_target", "sdk-0.8.0", [["set", P + ["decision"], "escalate"], ["set", P + ["target"], None]],
     "actions[0].policy.target"),
    ("missing_action_decision", "sdk-0.8.0", [["remove", P + ["decision"]]], "actions[0].policy.decision"),
    ("missing_action_target", "sdk-0.8.0", [["remove", P + ["target"]]], "actions[0].policy.target"),
    ("legacy_default_decision", "sdk-0.8.0", [["set", P + ["default_decision"], "allow"]], "actions[0].policy.default_decision"),
    ("legacy_default_target", "sdk-0.8.0", [["set", P + ["default_target"], None]], "actions[0].policy.default_target"),
    ("undeclared_field", "sdk-0.8.0", [["set", C + ["field"], "absent"]], COND + ".field"),
    ("old_neq_operator", "sdk-0.8.0", [["set", C + ["op"], "neq"]], COND + ".op"),
    ("bool_integer", "sdk-0.8.0", [["set", C + ["value"], True]], COND + ".value"),
    ("unsafe_integer", "sdk-0.8.0", [["set", C + ["value"], 2**53]], COND + ".value"),
    ("float", "sdk-0.8.0", [["set", C + ["value"], 1.5]], COND + ".value"),
    ("exists_string", "sdk-0.8.0", [["set", C + ["op"], "exists"], ["set", C + ["value"], "true"]], COND + ".value"),
    ("membership_scalar", "sdk-0.8.0", [["set", C + ["op"], "not_in"], ["set", C + ["value"], 1]], COND + ".value"),
    ("duplicate_rule", "sdk-0.8.0", [["append_copy", P + ["rules"]]], "actions[0].policy.rules[1].id"),
    ("empty_conditions", "sdk-0.8.0", [["set", P + ["rules", 0, "conditions"], []]], "actions[0].policy.rules[0].conditions"),
    ("unknown_rule_key", "sdk-0.8.0", [["set", P + ["rules", 0, "priority"], 1]], "actions[0].policy.rules[0].priority"),
    ("rule_review_target", "sdk-0.8.0", [["set", P + ["rules", 0, "decision"], "confirm"], ["set", P + ["rules", 0, "target"], "someone"]],
     "actions[0].policy.rules[0].target"),
    ("legacy_default_fields_replace", "sdk-0.8.0",
     [["remove", P + ["decision"]], ["remove", P + ["target"]], ["set", P + ["default_decision"], "allow"], ["set", P + ["default_target"], None]],
     "actions[0].policy.decision"),
    ("list_contains_any_empty", "sdk-0.8.0", list_condition("list", "contains_any", []), COND + ".value"),
    ("list_contains_none_empty", "sdk-0.8.0", list_condition("list", "contains_none", []), COND + ".value"),
    ("list_contains_any_65", "sdk-0.8.0", list_condition("list", "contains_any", list(range(65))), COND + ".value"),
    ("list_contains_any_scalar", "sdk-0.8.0", list_condition("list", "contains_any", "sensitive"), COND + ".value"),
    ("list_contains_any_nested_list", "sdk-0.8.0", list_condition("list", "contains_any", [["sensitive"]]), COND + ".value"),
    ("list_contains_none_object", "sdk-0.8.0", list_condition("list", "contains_none", [{"tag": "sensitive"}]), COND + ".value"),
    ("list_contains_any_float", "sdk-0.8.0", list_condition("list", "contains_any", [1.5]), COND + ".value[0]"),
    ("list_contains_any_unsafe", "sdk-0.8.0", list_condition("list", "contains_any", [2**53]), COND + ".value[0]"),
    ("list_empty_integer", "sdk-0.8.0", list_condition("list", "empty", 1), COND + ".value"),
    ("list_empty_string", "sdk-0.8.0", list_condition("list", "empty", "true"), COND + ".value"),
    ("list_empty_null", "sdk-0.8.0", list_condition("list", "empty", None), COND + ".value"),
    ("list_eq", "sdk-0.8.0", list_condition("list", "eq", []), COND + ".op"),
    ("list_ne", "sdk-0.8.0", list_condition("list", "ne", "sensitive"), COND + ".op"),
    ("list_gt", "sdk-0.8.0", list_condition("list", "gt", 1), COND + ".op"),
    ("list_in", "sdk-0.8.0", list_condition("list", "in", []), COND + ".op"),
    ("list_not_in", "sdk-0.8.0", list_condition("list", "not_in", []), COND + ".op"),
    ("string_contains_any", "sdk-0.8.0", list_condition("string", "contains_any", ["sensitive"]), COND + ".op"),
    ("integer_contains_none", "sdk-0.8.0", list_condition("integer", "contains_none", [1]), COND + ".op"),
    ("boolean_empty", "sdk-0.8.0", list_condition("boolean", "empty", True), COND + ".op"),
    ("null_empty", "sdk-0.8.0", list_condition("null", "empty", False), COND + ".op"),
    ("array_type", "sdk-0.8.0", list_condition("array", "contains_any", ["sensitive"]), "actions[0].policy.fields.tags"),
    # Boundaries of the same rules, added here.
    ("wrong_profile", "allowly-core", [["set", ["profile"], "allowly.policy.v2"]], "profile"),
    ("wrong_action_profile", "allowly-core", [["set", P + ["profile"], "allowly.basic.v2"]], "actions[0].policy.profile"),
    ("empty_agent_id", "allowly-core", [["set", ["agent_id"], ""]], "agent_id"),
    ("expiry_zero", "allowly-core", [["set", ["default_expiry_days"], 0]], "default_expiry_days"),
    ("expiry_3651", "allowly-core", [["set", ["default_expiry_days"], 3651]], "default_expiry_days"),
    ("no_actions", "allowly-core", [["set", ["actions"], []]], "actions"),
    ("unknown_decision", "allowly-core", [["set", P + ["decision"], "review"]], "actions[0].policy.decision"),
    ("escalate_id_129", "allowly-core", [["set", P + ["decision"], "escalate"], ["set", P + ["target"], "member:" + "r" * 129]],
     "actions[0].policy.target"),
    ("escalate_python_whitespace", "allowly-core", [["set", P + ["decision"], "escalate"], ["set", P + ["target"], "member:\x1c\u3000"]],
     "actions[0].policy.target"),
    ("field_name_129", "allowly-core", [["set", P + ["fields", "f" * 129], "string"]], "actions[0].policy.fields." + "f" * 129),
    ("rules_33", "allowly-core", [["set", P + ["rules"], [dict(BASE["actions"][0]["policy"]["rules"][0], id=f"r{n}") for n in range(33)]]],
     "actions[0].policy.rules"),
    ("conditions_11", "allowly-core", [["set", P + ["rules", 0, "conditions"], [BASE["actions"][0]["policy"]["rules"][0]["conditions"][0]] * 11]],
     "actions[0].policy.rules[0].conditions"),
    ("ordered_string", "allowly-core", [["set", P + ["fields", "s"], "string"], ["set", C + ["field"], "s"], ["set", C + ["value"], "a"]],
     COND + ".op"),
    ("in_65", "allowly-core", [["set", C + ["op"], "in"], ["set", C + ["value"], list(range(65))]], COND + ".value"),
    ("resource_pattern_257", "allowly-core", [["set", G + ["resource_pattern"], "p" * 257]], "actions[0].guards.resource_pattern"),
    ("initiators_empty", "allowly-core", [["set", G + ["allowed_initiators"], []]], "actions[0].guards.allowed_initiators"),
    ("max_per_day_zero", "allowly-core", [["set", G + ["max_per_day"], 0]], "actions[0].guards.max_per_day"),
    ("grant_bad_fingerprint", "allowly-core",
     [["set", ["actions", 0, "executable_operations"], [dict(GRANT, definition_fingerprint="sha256:" + "A" * 64)]]],
     "actions[0].executable_operations[0].definition_fingerprint"),
    ("grant_bad_evidence_mode", "allowly-core",
     [["set", ["actions", 0, "executable_operations"], [dict(GRANT, minimum_evidence_mode="none")]]],
     "actions[0].executable_operations[0].minimum_evidence_mode"),
    ("grant_missing_key", "allowly-core",
     [["set", ["actions", 0, "executable_operations"], [{k: v for k, v in GRANT.items() if k != "provider_id"}]]],
     "actions[0].executable_operations[0].provider_id"),
    ("grant_in_two_actions", "allowly-core",
     [["set", ["actions", 0, "executable_operations"], [GRANT]], ["append_copy", ["actions"]],
      ["set", ["actions", 1, "policy", "action"], "records.other"]],
     "actions[1].executable_operations[0]"),
    ("nul_in_member_name", "allowly-core", [["set", P + ["fields", "a\x00"], "string"]], "actions[0].policy.fields.a\x00"),
    ("too_large", "allowly-core",
     [["set", ["actions", 0, "executable_operations"], [dict(GRANT, enabled_executable_id=f"{n:03}" + "e" * 125, provider_id="p" * 128,
                                                            operation_id="o" * 128, catalog_revision="c" * 128) for n in range(100)]]],
     "$"),
]

# Accepted variants from 0.8.0's positive tests: they pin that the strict rules do not over-refuse.
VALID = [
    *[(f"list_{op}_{n}", list_condition("list", op, value)) for n, (op, value) in enumerate([
        ("contains_any", ["sensitive", 1, True, None]), ("contains_none", ["external"]), ("contains_any", list(range(64))),
        ("empty", True), ("empty", False), ("exists", True), ("exists", False)])],
    *[(f"scalar_{declared}_{op}_{n}", [["set", P + ["fields", "scalar"], declared],
                                       ["set", P + ["rules", 0, "conditions"], [{"field": "scalar", "op": op, "value": value}]]])
      for n, (declared, op, value) in enumerate([
          ("string", "eq", "internal"), ("string", "ne", "external"), ("integer", "gt", -1), ("integer", "gte", 0),
          ("integer", "lt", 1), ("integer", "lte", 2**53 - 1), ("boolean", "eq", True), ("null", "eq", None),
          ("string", "in", ["internal"]), ("integer", "not_in", [0]), ("boolean", "in", []), ("null", "not_in", [])])],
    ("unicode_fields_and_escaped_nul_text", [["set", P + ["fields", "\U00010000"], "string"], ["set", P + ["fields", "\uff61"], "string"],
                                             ["set", G + ["resource_pattern"], "record:\\u0000"]]),
    ("all_guards_and_a_grant", [["set", G, {"resource_pattern": "p" * 256, "allowed_initiators": ["a", "b"], "max_per_day": 2**53 - 1}],
                                ["set", ["actions", 0, "executable_operations"], [GRANT]], ["set", ["default_expiry_days"], 3650]]),
    ("escalate_padded_member", [["set", P + ["decision"], "escalate"], ["set", P + ["target"], "member: x "]]),
]


def invalid() -> list[dict]:
    out = []
    for name, source, edits, path in INVALID:
        definition = edited(edits)
        entry = {"name": name, "source": source}
        if path is None:
            # A lone surrogate has no Rust string or serde_json form: such a definition is refused while parsing, so
            # it is kept as JSON text (ASCII, with the \ud800 escape) instead of as a value.
            entry["definition_json"] = json.dumps(definition, ensure_ascii=True)
        else:
            entry["definition"] = definition
        entry["expected_path"] = path
        out.append(entry)
    return out


def write(name: str, value) -> None:
    (HERE / name).write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write("cases.json", cases())
    write("invalid-definitions.json", invalid())
    write("valid-definitions.json", [{"name": name, "definition": edited(edits)} for name, edits in VALID])
