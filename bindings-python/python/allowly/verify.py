"""Offline receipt verification (allowly-core's verifier; no network, the GIL released while it runs).

``load_keys_from_json(doc)`` accepts the key document as a dict or as its JSON text; ``verify_receipt`` accepts a
``SignedReceipt`` from ``receipts.fetch_signed`` (its exact bytes are verified), JSON text, or a dict.
``fetch_keys_doc(workspace_id, ...)`` is the one networked call here: it fetches the key document the way the official
0.8.0 SDK documents it, returning the dict ``load_keys_from_json`` takes.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from . import _native
from ._native import KeySet, VerifiedReceipt, load_keys_from_json, verify_batch, verify_receipt
from .errors import VerificationError

__all__ = [
    "KeySet",
    "VerifiedReceipt",
    "VerificationError",
    "fetch_keys_doc",
    "load_keys_from_json",
    "verify_batch",
    "verify_receipt",
]


def fetch_keys_doc(
    workspace_id: str,
    *,
    base_url: Optional[str] = None,
    cache_ttl_seconds: float = 300,
    expected_sha256: Optional[str] = None,
    dangerously_allow_insecure_base_url: bool = False,
) -> Dict[str, Any]:
    """``GET {base_url}/v1/workspaces/{workspace_id}/keys`` without credentials (the document is public), checked by
    allowly-core: HTTPS only unless ``dangerously_allow_insecure_base_url``, no redirects, the pinned
    ``expected_sha256`` of the exact bytes (a mismatch raises ``KeyDocumentError``), a valid document naming this
    workspace. ``base_url`` None is the hosted service. Blocking, as in 0.8.0; cached per URL and pin for
    ``cache_ttl_seconds`` (0 fetches every time). Only the parameter names are mapped here."""
    return _native.fetch_keys_doc(
        workspace_id,
        base_url=base_url,
        cache_ttl_seconds=cache_ttl_seconds,
        expected_sha256=expected_sha256,
        allow_insecure_http=dangerously_allow_insecure_base_url,
    )
