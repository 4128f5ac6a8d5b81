"""Agent identity through the Python SDK against the real `allowly serve --dev`: enrollment (setup key) returns a
credential whose tokens the server accepts, the client sends them from the credential or from a Python supplier,
and a bad token is the typed `AuthenticationError` of the server's code."""

from __future__ import annotations

import json
from typing import Dict

import pytest

import allowly
from conftest import client_kwargs


def enroll(server: Dict[str, str], agent_id: str) -> allowly.AgentCredential:
    setup = dict(client_kwargs(server), api_key=server["setup_api_key"])
    with allowly.SyncAllowly(**setup) as admin:
        return admin.agents.enroll(agent_id)


def grant(server: Dict[str, str], agent_id: str) -> str:
    with allowly.SyncAllowly(**client_kwargs(server)) as c:
        return c.authorizations.create(user_id="u", agent_id=agent_id, scopes=["s"]).authorization_id


def test_enrolled_credentials_tokens_are_accepted_from_the_credential_or_a_supplier(server: Dict[str, str], tmp_path) -> None:
    credential = enroll(server, "py-agent")
    assert (credential.agent_id, credential.workspace_id) == ("py-agent", server["workspace_id"])
    text = credential.to_json()
    assert json.loads(text)["private_key_jwk"]["d"] not in repr(credential)
    path = tmp_path / "agent.json"
    path.write_text(text)
    loaded = allowly.NativeAgentCredential.from_file(str(path))  # 0.8.0's name and call
    assert loaded.key_id == credential.key_id
    auth = grant(server, "py-agent")

    with allowly.SyncAllowly(**client_kwargs(server)) as c:  # 0.8.0's per-call agent_token=
        r = c.check(authorization_id=auth, scopes=["s"], agent_token=loaded.token()).results["s"]
        assert r.decision == "allow"
        with pytest.raises(allowly.AuthenticationError) as e:
            c.check(authorization_id=auth, scopes=["s"], agent_token="not.a-token")
        assert e.value.code == "agent_token_malformed"

    for options in (
        {"agent_credential": loaded},
        {"agent_token_supplier": loaded.token},  # 0.8.0's spelling: signed in core
        {"agent_token_supplier": lambda: loaded.token()},  # a Python function, called per check
    ):
        with allowly.SyncAllowly(**client_kwargs(server), **options) as c:
            r = c.check(authorization_id=auth, scopes=["s"]).results["s"]
            assert (r.decision, r.reason, r.is_fallback) == ("allow", "scope_granted", False), options


def test_bad_tokens_are_typed_errors_and_suppliers_must_return_text(server: Dict[str, str]) -> None:
    credential = enroll(server, "py-agent-2")
    other = grant(server, "someone-else")
    with allowly.SyncAllowly(**client_kwargs(server), agent_credential=credential) as c:
        with pytest.raises(allowly.AuthenticationError) as e:
            c.check(authorization_id=other, scopes=["s"])
        assert (e.value.status, e.value.code) == (401, "agent_token_agent_mismatch")
    with allowly.SyncAllowly(**client_kwargs(server), agent_token_supplier=lambda: "not.a-token") as c:
        with pytest.raises(allowly.AuthenticationError) as e:
            c.check(authorization_id=other, scopes=["s"])
        assert e.value.code == "agent_token_malformed"
        assert "not.a-token" not in str(e.value)

    def broken() -> str:
        raise RuntimeError("vault sealed")

    with allowly.SyncAllowly(**client_kwargs(server), agent_token_supplier=broken) as c:
        with pytest.raises(allowly.ConfigError):
            c.check(authorization_id=other, scopes=["s"])
    with pytest.raises(allowly.ConfigError):
        allowly.AgentCredential.from_json('{"version": 2}')


async def test_the_async_client_enrolls_and_checks(server: Dict[str, str]) -> None:
    async with allowly.Allowly(**dict(client_kwargs(server), api_key=server["setup_api_key"])) as admin:
        credential = await admin.agents.enroll("py-async-agent")
    auth = grant(server, "py-async-agent")
    async with allowly.Allowly(**client_kwargs(server), agent_token_supplier=credential.token) as c:
        r = (await c.check(authorization_id=auth, scopes=["s"])).results["s"]
        assert r.decision == "allow"


async def test_an_async_supplier_is_awaited_before_each_check(server: Dict[str, str]) -> None:
    """0.8.0 accepts an ``async def`` supplier; ours awaits it on the caller's loop, once per check."""
    async with allowly.Allowly(**dict(client_kwargs(server), api_key=server["setup_api_key"])) as admin:
        credential = await admin.agents.enroll("py-async-supplier")
    auth = grant(server, "py-async-supplier")
    other = grant(server, "someone-else-async")
    calls = []

    async def fetch_token() -> str:
        calls.append(1)
        return credential.token()

    async with allowly.Allowly(**client_kwargs(server), agent_token_supplier=fetch_token) as c:
        assert (await c.check(authorization_id=auth, scopes=["s"])).results["s"].decision == "allow"
        # The token really is sent: the server refuses it for another agent's authorization.
        with pytest.raises(allowly.AuthenticationError) as e:
            await c.check(authorization_id=other, scopes=["s"])
        assert e.value.code == "agent_token_agent_mismatch"
    assert len(calls) == 2

    async def sealed_vault() -> str:
        raise RuntimeError("vault sealed: secret-path/xyz")

    async with allowly.Allowly(**client_kwargs(server), agent_token_supplier=sealed_vault) as c:
        with pytest.raises(allowly.ConfigError) as failed:
            await c.check(authorization_id=auth, scopes=["s"])
        assert "secret-path" not in str(failed.value) and "RuntimeError" in str(failed.value)
    with pytest.raises(TypeError, match="allowly.Allowly"):
        allowly.SyncAllowly(**client_kwargs(server), agent_token_supplier=fetch_token)
