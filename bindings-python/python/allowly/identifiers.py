"""Pseudonymous user ids: ``from_email(email, pepper=...)`` gives ``email_hmac:v1:…`` so no raw address ever lands in
a signed receipt. Computed by allowly-core, identical in every language and in the official Python tools.

``pepper`` is text (its UTF-8 bytes) or bytes, and ``version`` names the scheme, as in the official 0.8.0 SDK; core
refuses any version but ``v1`` with a ``ValidationError`` (also a ``ValueError``) rather than produce an id another
version's tools would not reproduce.
"""

import inspect as _inspect

from ._native import from_email, normalize_email

# The 0.8.0 SDK exports the scheme version; it is the default of `from_email`'s `version`, read from there so the
# one spelling stays core's (`identifiers::EMAIL_HMAC_VERSION`).
EMAIL_HMAC_VERSION: str = _inspect.signature(from_email).parameters["version"].default

__all__ = ["EMAIL_HMAC_VERSION", "from_email", "normalize_email"]
