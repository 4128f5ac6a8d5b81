"""Pseudonymous user ids: ``from_email(email, pepper=...)`` gives ``email_hmac:v1:…`` so no raw address ever lands in
a signed receipt. Computed by allowly-core, identical in every language and in the official Python tools."""

from ._native import from_email

__all__ = ["from_email"]
