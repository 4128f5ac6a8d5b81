"""The ``allowly.policy.v1`` profile, locally: validate a definition, compute the digests receipts commit to, and
evaluate an action the way the server does.

Every function here is allowly-core's (the code the server runs), so a definition accepted here is accepted there and
an evaluation here is the server's evaluation. A refused definition raises ``ValidationError``; its one
``fields[0].field`` is the offending path (``actions[0].policy.rules[1].conditions[0].op``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict

from ._native import (
    PolicyEval,
    definition_digest,
    engine_version,
    evaluate_policy,
    policy_input_digest,
    validate_policy_definition,
)

__all__ = [
    "PolicyDefinition",
    "PolicyEval",
    "definition_digest",
    "engine_version",
    "evaluate_policy",
    "policy_input_digest",
    "validate_policy_definition",
]


class PolicyDefinition(TypedDict):
    """The shape of a complete definition, for type checkers only: at run time a definition is a plain ``dict``, and
    what it may contain is decided by ``validate_policy_definition``."""

    profile: str
    agent_id: str
    actions: List[Dict[str, Any]]
    default_expiry_days: Optional[int]
