"""The exceptions of the Allowly SDK, one class per decision a caller has to make.

They mirror allowly-core's single ``Error`` enum (the native module maps each variant to exactly one class here), so
``except`` clauses can follow what to do next: retry later (``RateLimitError``, ``TimeoutError``, ``NetworkError``,
``ServerError``), fix the request (``ValidationError``, ``ConfigError``), fix credentials (``AuthenticationError``,
``PermissionDeniedError``), or stop trusting data (``ProtocolError``, ``VerificationError``,
``WebhookVerificationError``).

Messages never contain an API key, a pepper or a confirmation nonce.
"""

from __future__ import annotations

from typing import Any, List, Optional

__all__ = [
    "AllowlyError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "ValidationError",
    "RateLimitError",
    "ServerError",
    "TimeoutError",
    "NetworkError",
    "ProtocolError",
    "ConfigError",
    "VerificationError",
    "MalformedReceiptError",
    "SchemaError",
    "UnsupportedVersionError",
    "TimestampError",
    "UnknownKeyError",
    "KeyOutsideWindowError",
    "UntrustedKeyError",
    "WorkspaceMismatchError",
    "SignatureMismatchError",
    "KeyDocumentError",
    "CheckpointError",
    "WebhookVerificationError",
]


class AllowlyError(Exception):
    """Base of every SDK error; ``code`` is stable (the server's error code, or a fixed name for local failures)."""

    def __init__(self, message: str, *, code: str, status: Optional[int] = None, **_: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class AuthenticationError(AllowlyError):
    """401: the API key is missing, malformed or unknown."""


class PermissionDeniedError(AllowlyError):
    """403: the key is valid but may not do this (e.g. a runtime key on a setup route)."""


class NotFoundError(AllowlyError):
    """404: no such authorization, confirmation or receipt in this workspace."""


class ConflictError(AllowlyError):
    """409/410: the current state forbids the call (already settled, idempotency conflict, expired confirmation)."""


class ValidationError(AllowlyError, ValueError):
    """The request is wrong (400/413/422, or caught before sending); ``fields`` says where.

    Also a ``ValueError``: the official 0.8.0 SDK raises ``ValueError`` subclasses for bad arguments and policy
    definitions, so code written against it with ``except ValueError`` keeps catching them here.
    """

    def __init__(self, message: str, *, code: str, status: Optional[int] = None, fields: Any = (), **kw: Any) -> None:
        super().__init__(message, code=code, status=status, **kw)
        self.fields: List[Any] = list(fields)


class RateLimitError(AllowlyError):
    """429: slow down; ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one."""

    def __init__(
        self, message: str, *, code: str, status: Optional[int] = None, retry_after: Optional[float] = None, **kw: Any
    ) -> None:
        super().__init__(message, code=code, status=status, **kw)
        self.retry_after = retry_after


class ServerError(AllowlyError):
    """5xx after retries (``check`` never raises this: it falls back instead).

    ``retry_after`` is the server's ``Retry-After`` in seconds when it sent one: a 503 with ``code == "overloaded"`` is
    a server shedding load before doing any work, so the same call can be sent again after that long.
    """

    def __init__(
        self, message: str, *, code: str, status: Optional[int] = None, retry_after: Optional[float] = None, **kw: Any
    ) -> None:
        super().__init__(message, code=code, status=status, **kw)
        self.retry_after = retry_after


class TimeoutError(AllowlyError):  # noqa: A001 - the SDK's own timeout, importable as allowly.TimeoutError
    """The call, or a wait such as ``fetch_signed``, ran out of time."""


class NetworkError(AllowlyError):
    """The server could not be reached (DNS, connect, TLS, reset)."""


class ProtocolError(AllowlyError):
    """The server answered something that does not follow the wire contract."""


class ConfigError(AllowlyError):
    """The client is configured wrongly (plain HTTP without ``allow_insecure_http``, an empty key, closed client)."""


class VerificationError(AllowlyError):
    """A receipt, key document or checkpoint did not verify; ``kind`` is the stable reason (also the ``code``)."""

    def __init__(self, message: str, *, code: str, status: Optional[int] = None, kind: str = "", **kw: Any) -> None:
        super().__init__(message, code=code, status=status, **kw)
        self.kind = kind or code


class MalformedReceiptError(VerificationError):
    """Not well-formed for the receipt format (duplicate names, non-integer numbers, lone surrogates, too deep)."""


class SchemaError(VerificationError):
    """A field is missing, mistyped or unknown, or a kind/pairing rule fails."""


class UnsupportedVersionError(VerificationError):
    """``schema_version`` is not ``"4"``."""


class TimestampError(VerificationError):
    """``issued_at`` is not an exact UTC millisecond instant, or lies in the future."""


class UnknownKeyError(VerificationError):
    """No key with the receipt's ``key_id`` in the key set."""


class KeyOutsideWindowError(VerificationError):
    """The key was not active at ``issued_at``."""


class UntrustedKeyError(VerificationError):
    """The key's fingerprint is not among ``trusted_fingerprints``."""


class WorkspaceMismatchError(VerificationError):
    """The receipt or key document names another workspace than ``expected_workspace_id``."""


class SignatureMismatchError(VerificationError):
    """The Ed25519 signature does not match: the receipt was altered or not signed by this key."""


class KeyDocumentError(VerificationError):
    """The key document itself is invalid."""


class CheckpointError(VerificationError):
    """A checkpoint's members do not match its signed count, root or prior link."""


class WebhookVerificationError(AllowlyError):
    """A webhook delivery did not verify: do not act on it. ``kind`` is ``malformed``, ``signature_mismatch``,
    ``timestamp`` (stale or in the future), ``workspace_mismatch`` or ``replay``; ``code`` is ``webhook_<kind>``."""

    def __init__(self, message: str, *, code: str, status: Optional[int] = None, kind: str = "", **kw: Any) -> None:
        super().__init__(message, code=code, status=status, **kw)
        self.kind = kind or code
