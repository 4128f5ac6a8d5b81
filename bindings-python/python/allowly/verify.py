"""Offline receipt verification (allowly-core's verifier; no network, the GIL released while it runs).

``load_keys_from_json(doc)`` accepts the key document as a dict or as its JSON text; ``verify_receipt`` accepts a
``SignedReceipt`` from ``receipts.fetch_signed`` (its exact bytes are verified), JSON text, or a dict.
"""

from ._native import KeySet, VerifiedReceipt, load_keys_from_json, verify_batch, verify_receipt
from .errors import VerificationError

__all__ = ["KeySet", "VerifiedReceipt", "VerificationError", "load_keys_from_json", "verify_batch", "verify_receipt"]
