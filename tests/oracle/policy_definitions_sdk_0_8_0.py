#!/usr/bin/env python3
"""The official SDK 0.8.0 judges our policy conformance data (tests/conformance/policy-profile-v1).

    tests/oracle/.venv-sdk-0.8.0/bin/python tests/oracle/policy_definitions_sdk_0_8_0.py

It must refuse every definition in invalid-definitions.json, accept every one in valid-definitions.json and every
official case definition, and its digests and input commitments must equal the ones cases.json expects. The Rust
test core/tests/policy_conformance.rs runs it (when this venv exists) so our validator and the official one are
checked against the same set. Exit status 1 and one line per disagreement otherwise.
"""
import hashlib
import json
import sys
from pathlib import Path

from allowly import AllowlyProtocolError
from allowly.policies import definition_digest, validate_policy_definition
from allowly_receipt_format import canonicalize

DATA = Path(__file__).resolve().parents[1] / "conformance" / "policy-profile-v1"


def load(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def main() -> int:
    problems = []
    invalid = load("invalid-definitions.json")
    for case in invalid:
        definition = case["definition"] if "definition" in case else json.loads(case["definition_json"])
        try:
            validate_policy_definition(definition)
            problems.append(f"invalid {case['name']}: accepted")
        except AllowlyProtocolError:
            pass
    valid = load("valid-definitions.json")
    for case in valid:
        try:
            validate_policy_definition(case["definition"])
        except AllowlyProtocolError as error:
            problems.append(f"valid {case['name']}: refused ({error})")
    official = {case["name"]: case for case in load("official-policy-profile-v1.json")["signature_cases"]}
    cases = load("cases.json")
    for case in cases:
        definition = official[case["name"]]["definition"]
        try:
            validate_policy_definition(definition)
        except AllowlyProtocolError as error:
            problems.append(f"official {case['name']}: refused ({error})")
            continue
        if definition_digest(definition) != case["expected_definition_sha256"]:
            problems.append(f"official {case['name']}: definition digest differs")
        policy = next(a["policy"] for a in definition["actions"] if a["policy"]["action"] == case["action"])
        commitment = hashlib.sha256(canonicalize({"policy": policy, "action": case["action"], "context": case["context"]})).hexdigest()
        if (commitment == case["expected_input_sha256"]) != (case["input"] == "recovered"):
            problems.append(f"official {case['name']}: input marked {case['input']} but commitment match is {commitment == case['expected_input_sha256']}")
    for line in problems:
        print(line)
    print(f"sdk 0.8.0: {len(invalid)} invalid refused, {len(valid)} valid and {len(cases)} official definitions accepted"
          if not problems else f"sdk 0.8.0: {len(problems)} disagreements")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
