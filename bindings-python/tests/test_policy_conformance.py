"""The shared policy conformance data (tests/conformance/policy-profile-v1, read by every language) through
``allowly.policies``: the 53 official cases evaluate to their signed results, every definition digests as signed,
and every invalid definition is refused at its expected path."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

import allowly
from allowly import policies

from conftest import CONFORMANCE

DATA = CONFORMANCE / "policy-profile-v1"
CASES: List[Dict[str, Any]] = json.loads((DATA / "cases.json").read_text())
OFFICIAL = {c["name"]: c["definition"] for c in json.loads((DATA / "official-policy-profile-v1.json").read_text())["signature_cases"]}
INVALID: List[Dict[str, Any]] = json.loads((DATA / "invalid-definitions.json").read_text())
VALID: List[Dict[str, Any]] = json.loads((DATA / "valid-definitions.json").read_text())


def test_counts() -> None:
    assert len(CASES) == 53
    assert sum(1 for c in CASES if c["input"] == "recovered") == 13


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_official_case_evaluates_to_its_signed_result(case: Dict[str, Any]) -> None:
    definition = OFFICIAL[case["name"]]
    assert policies.validate_policy_definition(definition) == definition
    assert policies.definition_digest(definition) == case["expected_definition_sha256"]
    evaluation = policies.evaluate_policy(definition, case["action"], case["context"])
    assert evaluation.result.to_dict() == case["expected"]
    assert evaluation.result.decision == case["expected"]["decision"]
    digest = policies.policy_input_digest(definition, case["action"], case["context"])
    assert digest == evaluation.input_sha256
    if case["input"] == "recovered":
        assert evaluation.input_sha256 == case["expected_input_sha256"]


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_definition_is_refused_at_its_path(case: Dict[str, Any]) -> None:
    definition = case["definition"] if "definition" in case else json.loads(case["definition_json"])
    with pytest.raises(allowly.ValidationError) as raised:
        policies.validate_policy_definition(definition)
    if case["expected_path"] is not None:
        assert [f.field for f in raised.value.fields] == [case["expected_path"]], str(raised.value)
    with pytest.raises(allowly.ValidationError):
        policies.definition_digest(definition)


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_valid_variant_is_accepted(case: Dict[str, Any]) -> None:
    assert policies.validate_policy_definition(case["definition"]) == case["definition"]
    assert len(policies.definition_digest(case["definition"])) == 64


def test_evaluation_refuses_undeclared_actions_and_mistyped_context() -> None:
    definition = VALID[0]["definition"]
    action = definition["actions"][0]["policy"]["action"]
    with pytest.raises(allowly.ValidationError) as raised:
        policies.evaluate_policy(definition, "not.declared", {})
    assert raised.value.fields[0].field == "action"
    field = next(iter(definition["actions"][0]["policy"]["fields"]))
    declared = definition["actions"][0]["policy"]["fields"][field]
    wrong = "text" if declared != "string" else 1
    with pytest.raises(allowly.ValidationError) as raised:
        policies.evaluate_policy(definition, action, {field: wrong})
    assert raised.value.fields[0].field == f"context.{field}"


def test_engine_version_is_a_sha256_reference() -> None:
    version = policies.engine_version()
    assert version.startswith("sha256:") and len(version) == 71
