"""Every exception class, raised by a real HTTP answer wherever one can be produced.

The dev server produces 401, 404, 409, 422 and (by being down) network failures; a silent socket produces timeouts.
A runtime key cannot reach a setup route through this API and the dev server never rate-limits, so 403, 429, 5xx
and malformed answers come from a canned local HTTP server: the same transport and mapping, a scripted peer.
"""

from __future__ import annotations

from typing import Dict

import pytest

import allowly
from allowly import errors

from conftest import client_kwargs

FAKE_KEY = "allowly_rt_" + "0" * 32  # well-formed, unknown to the server


def envelope(code: str, message: str = "scripted", fields=None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or []}}


async def test_401_bad_key(server: Dict[str, str]) -> None:
    async with allowly.Allowly(api_key=FAKE_KEY, base_url=server["base_url"], allow_insecure_http=True) as c:
        with pytest.raises(allowly.AuthenticationError) as info:
            await c.check(authorization_id="auth_x", scopes=["email.read"])
        assert (info.value.code, info.value.status) == ("invalid_api_key", 401)
        assert FAKE_KEY not in str(info.value) and FAKE_KEY not in repr(info.value) and FAKE_KEY not in repr(c)


async def test_404_not_found(client: allowly.Allowly) -> None:
    with pytest.raises(allowly.NotFoundError) as info:
        await client.authorizations.get("auth_01JZZZZZZZZZZZZZZZZZZZZZZZ")
    assert info.value.status == 404 and info.value.code.endswith("_not_found")
    with pytest.raises(allowly.NotFoundError):
        await client.receipts.get("rcp_01JZZZZZZZZZZZZZZZZZZZZZZZ")


async def test_409_settle_twice(client: allowly.Allowly) -> None:
    auth = await client.authorizations.create(
        user_id="u-409", agent_id="a", scopes=["llm.enrich"], budget_limit_micros=1_000_000
    )
    checked = await client.check(authorization_id=auth.authorization_id, scopes=["llm.enrich"], estimated_cost_micros=10)
    receipt_id = checked.results["llm.enrich"].receipt.receipt_id
    await client.budget.settle(check_receipt_id=receipt_id, actual_cost_micros=5)
    with pytest.raises(allowly.ConflictError) as info:
        await client.budget.settle(check_receipt_id=receipt_id, actual_cost_micros=5)
    assert (info.value.code, info.value.status) == ("already_settled", 409)


async def test_422_with_fields(client: allowly.Allowly) -> None:
    with pytest.raises(allowly.ValidationError) as info:
        await client.authorizations.create(user_id="u", agent_id="a", scopes=["x"], expires_at="next tuesday")
    assert info.value.status == 422
    assert [f.field for f in info.value.fields] == ["expires_at"], info.value.fields
    assert isinstance(info.value.fields[0], allowly.FieldError) and info.value.fields[0].message


async def test_local_validation_sends_nothing(client: allowly.Allowly) -> None:
    with pytest.raises(allowly.ValidationError) as info:
        await client.check(authorization_id="auth_x", scopes=[])
    assert (info.value.code, info.value.status, info.value.fields[0].field) == ("invalid_input", None, "scopes")
    with pytest.raises(allowly.ValidationError):
        await client.check(authorization_id="auth_x", scopes=["a"], context={"not": object()})


async def test_server_down_check_fails_closed_and_other_calls_raise(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    async with allowly.Allowly(
        api_key=FAKE_KEY, base_url=url, allow_insecure_http=True, max_retries=0, fallback_by_scope={"logs.read": "open"}
    ) as c:
        result = await c.check(authorization_id="auth_x", scopes=["email.send", "logs.read"])
        send, logs = result.results["email.send"], result.results["logs.read"]
        assert (send.decision, send.reason, send.is_fallback) == ("deny", "fallback_closed_unreachable", True)
        assert (logs.decision, logs.reason) == ("allow", "fallback_open_unreachable")
        assert result.is_fallback and send.receipt is None
        with pytest.raises(allowly.NetworkError) as info:
            await c.authorizations.get("auth_x")
        assert info.value.code == "network_error"


async def test_hung_server_times_out(silent_peer: str) -> None:
    async with allowly.Allowly(
        api_key=FAKE_KEY, base_url=silent_peer, allow_insecure_http=True, timeout=0.3, check_timeout=0.3, max_retries=0
    ) as c:
        result = await c.check(authorization_id="auth_x", scopes=["email.send"])
        assert (result.results["email.send"].decision, result.results["email.send"].reason) == (
            "deny",
            "fallback_closed_timeout",
        )
        with pytest.raises(allowly.TimeoutError):
            await c.authorizations.get("auth_x")


async def test_scripted_403_429_503_and_protocol(canned_server) -> None:
    url, answers = canned_server
    async with allowly.Allowly(api_key=FAKE_KEY, base_url=url, allow_insecure_http=True, max_retries=0) as c:
        answers.append((403, {}, envelope("insufficient_key_tier")))
        with pytest.raises(allowly.PermissionDeniedError) as denied:
            await c.authorizations.get("auth_x")
        assert (denied.value.code, denied.value.status) == ("insufficient_key_tier", 403)

        answers.append((429, {"Retry-After": "7"}, envelope("rate_limited")))
        with pytest.raises(allowly.RateLimitError) as limited:
            await c.check(authorization_id="auth_x", scopes=["a"])
        assert limited.value.retry_after == 7.0

        answers.append((503, {}, envelope("unavailable")))
        with pytest.raises(allowly.ServerError) as unavailable:
            await c.authorizations.get("auth_x")
        assert (unavailable.value.status, unavailable.value.retry_after) == (503, None)

        # A server shedding load: 503 overloaded with Retry-After, kept on the error; check falls back instead.
        answers.append((503, {"Retry-After": "2"}, envelope("overloaded")))
        with pytest.raises(allowly.ServerError) as overloaded:
            await c.authorizations.get("auth_x")
        assert (overloaded.value.code, overloaded.value.status, overloaded.value.retry_after) == ("overloaded", 503, 2.0)
        answers.append((503, {"Retry-After": "1"}, envelope("overloaded")))
        result = await c.check(authorization_id="auth_x", scopes=["a"])
        assert (result.results["a"].decision, result.results["a"].reason) == ("deny", "fallback_closed_unreachable")

        answers.append((200, {}, {"results": "not what wire-v1 says"}))
        with pytest.raises(allowly.ProtocolError):
            await c.check(authorization_id="auth_x", scopes=["a"])


def test_config_errors() -> None:
    with pytest.raises(allowly.ConfigError):
        allowly.Allowly(api_key=FAKE_KEY, base_url="http://127.0.0.1:1")
    with pytest.raises(allowly.ConfigError):
        allowly.SyncAllowly(api_key="", base_url="https://example.invalid")
    c = allowly.SyncAllowly(api_key=FAKE_KEY, base_url="https://example.invalid")
    c.close()
    assert c.closed and "closed" in repr(c)
    with pytest.raises(allowly.ConfigError):
        c.authorizations.get("auth_x")


EXPECTED = {
    "authentication": allowly.AuthenticationError,
    "permission_denied": allowly.PermissionDeniedError,
    "not_found": allowly.NotFoundError,
    "conflict": allowly.ConflictError,
    "validation": allowly.ValidationError,
    "rate_limited": allowly.RateLimitError,
    "server": allowly.ServerError,
    "timeout": allowly.TimeoutError,
    "network": allowly.NetworkError,
    "protocol": allowly.ProtocolError,
    "config": allowly.ConfigError,
    "malformed": allowly.MalformedReceiptError,
    "schema": allowly.SchemaError,
    "unsupported_version": allowly.UnsupportedVersionError,
    "timestamp": allowly.TimestampError,
    "unknown_key": allowly.UnknownKeyError,
    "key_outside_window": allowly.KeyOutsideWindowError,
    "untrusted_key": allowly.UntrustedKeyError,
    "workspace_mismatch": allowly.WorkspaceMismatchError,
    "signature_mismatch": allowly.SignatureMismatchError,
    "key_document": allowly.KeyDocumentError,
    "checkpoint": allowly.CheckpointError,
    "webhook": allowly.WebhookVerificationError,
}


def test_every_core_error_maps_to_its_own_class() -> None:
    samples = dict(allowly._native._error_samples())
    assert samples.keys() == EXPECTED.keys()
    for name, exc in samples.items():
        assert type(exc) is EXPECTED[name], (name, type(exc))
        assert isinstance(exc, allowly.AllowlyError)
    assert samples["rate_limited"].retry_after == 1.5
    assert (samples["server"].code, samples["server"].retry_after) == ("overloaded", 1.0)
    assert samples["validation"].fields[0].field == "scopes"
    assert samples["signature_mismatch"].kind == "signature_mismatch"
    assert (samples["webhook"].kind, samples["webhook"].code) == ("signature_mismatch", "webhook_signature_mismatch")
    # Every public class is reachable from core: nothing in the hierarchy is dead.
    classes = {getattr(errors, n) for n in errors.__all__} - {allowly.AllowlyError, allowly.VerificationError}
    assert classes == set(EXPECTED.values())


def test_every_core_kind_has_a_class_of_its_own() -> None:
    """Walks core's kind list (not a copy of it): a kind added to core and not mapped lands on the base class."""
    kinds = allowly._native._error_kinds()
    classes = [cls for _, cls in kinds]
    assert kinds and len(set(classes)) == len(kinds), kinds
    samples = dict(allowly._native._error_samples())
    for kind, cls in kinds:
        assert issubclass(cls, allowly.AllowlyError) and cls is not allowly.AllowlyError, kind
        assert cls.__name__ in errors.__all__ and getattr(allowly, cls.__name__) is cls, kind
        if kind in samples:  # the verification kind is sampled once per verification kind instead
            assert type(samples[kind]) is cls, (kind, type(samples[kind]))


def test_validation_error_is_a_value_error_as_in_0_8() -> None:
    """0.8.0 raises ValueError subclasses for bad arguments and definitions; `except ValueError` keeps working."""
    assert issubclass(allowly.ValidationError, ValueError)
    assert not issubclass(allowly.ConflictError, ValueError)
    with pytest.raises(ValueError) as info:
        allowly.identifiers.from_email("a@b.c", pepper="")
    assert type(info.value) is allowly.ValidationError and info.value.code
    with pytest.raises(ValueError):
        allowly.policies.validate_policy_definition({"not": "a policy"})
