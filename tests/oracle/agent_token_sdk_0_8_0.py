"""The newer official Python SDK `allowly==0.8.0` (PyPI) against our `allowly serve --dev`: agent tokens are refused.

    tests/oracle/.venv-sdk-0.8.0/bin/python tests/oracle/agent_token_sdk_0_8_0.py

Run with the 0.8.0 venv's python (`make test-oracles` builds it). Our server cannot verify agent tokens yet, so a
request carrying `X-Allowly-Agent-Token` is answered 401 `agent_token_unverifiable` (docs/wire-v1.md, Conventions).
What must hold, and is asserted: a check sent through the official 0.8.0 client with an agent token, either per call
(`check(..., agent_token=...)`) or for the whole client (`Allowly(..., agent_token=...)`), raises the client's
`AllowlyAPIError` with status 401 and code `agent_token_unverifiable`, and the error does not echo the token.

Without a token the same check is answered and 0.8.0 parses it (allow `scope_granted` on this scope-based
authorization): our check responses carry `engine_version` as the engine-manifest digest 0.8.0 requires. (Until
policy editions existed, 0.8.0 refused our `allowly-server/<version>` there; lifecycle_sdk_0_8_0.py now drives the
whole 0.8.0 lifecycle.) The scope-based authorization used here is created with a plain HTTP POST in the 0.3.1
shape, which 0.8.0's `authorizations.create` (editions only) does not send.
The API keys stay in memory: nothing here prints them.
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import os
import sys
from pathlib import Path

import httpx
from allowly import Allowly, AllowlyAPIError, AllowlyProtocolError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
import devserver  # noqa: E402  (tests/support/devserver.py: the one way to start the dev server)

# Not a real token (the server cannot verify any); distinctive, so a leak into an error message would be found.
AGENT_TOKEN = "oracle-agent-token-7f3c9d2e1b"


def step(text: str) -> None:
    print(f"  ok  {text}", flush=True)


def assert_refused(label: str, exc: BaseException | None) -> None:
    assert exc is not None, f"{label}: the official 0.8.0 client returned a result; our server must refuse agent tokens"
    assert isinstance(exc, AllowlyAPIError), f"{label}: expected AllowlyAPIError, got {type(exc).__name__}: {exc}"
    assert (exc.status, exc.code) == (401, "agent_token_unverifiable"), (
        f"{label}: expected HTTP 401 agent_token_unverifiable, got HTTP {exc.status} {exc.code}: {exc}")
    assert AGENT_TOKEN not in f"{exc} {exc!r} {exc.fields!r}", f"{label}: the error echoes the agent token"
    step(f"{label} -> AllowlyAPIError HTTP {exc.status} {exc.code}")


async def raised(coro) -> BaseException | None:
    try:
        await coro
    except Exception as e:  # noqa: BLE001 (the caller asserts on the type)
        return e
    return None


async def amain() -> None:
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    env.pop("ALLOWLY_MASTER_KEY", None)
    with devserver.dev_server(env=env) as server:
        info = server.info
        print(f"official allowly=={md.version('allowly')} against allowly serve --dev at {info['base_url']}")
        headers = {"Authorization": f"Bearer {info['runtime_api_key']}"}
        async with httpx.AsyncClient(base_url=info["base_url"], headers=headers, timeout=10) as raw:
            # 0.8.0 cannot create an inline authorization (see above): our wire, plain HTTP.
            resp = await raw.post("/v1/authorizations",
                                  json={"user_id": "subject:oracle", "agent_id": "oracle-agent", "scopes": ["email.read"]})
            assert resp.status_code == 201, f"create authorization: HTTP {resp.status_code} {resp.text[:300]}"
            auth = resp.json()["authorization_id"]
            step(f"create authorization {auth} (plain HTTP, our wire)")

            # Both ways 0.8.0 attaches a token. 10 s check timeout: a debug build on a busy machine must not turn the
            # answer into a client-side fallback (a fallback would not raise, and the assertion would say so).
            base = dict(base_url=info["base_url"], check_timeout_ms=10_000, dangerously_allow_insecure_base_url=True)
            async with Allowly(info["runtime_api_key"], **base) as client:
                assert_refused("check(agent_token=...)", await raised(
                    client.check(authorization_id=auth, actions=["email.read"], agent_token=AGENT_TOKEN)))

                # The same check without a token.
                try:
                    response = await client.check(authorization_id=auth, actions=["email.read"])
                except (AllowlyAPIError, AllowlyProtocolError) as e:
                    raise AssertionError(f"check() without a token failed in the official client: {e!r}")
                result = response.results["email.read"]
                assert not result.is_fallback, f"token-less check fell back: {result.reason}"
                assert (result.decision, result.reason) == ("allow", "scope_granted"), (
                    f"token-less check: {result.decision} ({result.reason})")
                step("check() without a token -> allow (scope_granted): 0.8.0 parses our check response")

            async with Allowly(info["runtime_api_key"], agent_token=AGENT_TOKEN, **base) as client:
                assert_refused("Allowly(agent_token=...).check(...)", await raised(
                    client.check(authorization_id=auth, actions=["email.read"])))

            # The server's answer to the token-less request 0.8.0 sends (its check body, verbatim field set): a decision.
            body = {"authorization_id": auth, "actions": ["email.read"], "resource": None, "session_id": None,
                    "estimated_cost_micros": None, "context": {}}
            resp = await raw.post("/v1/check", json=body)
            assert resp.status_code == 200, f"token-less check (plain HTTP): HTTP {resp.status_code} {resp.text[:300]}"
            result = resp.json()["results"]["email.read"]
            assert (result["decision"], result["reason"]) == ("allow", "scope_granted"), f"token-less check: {result}"
            step(f"the same token-less check (plain HTTP) -> 200 allow (scope_granted), engine_version "
                 f"{resp.json()['engine_version']!r}")


def main() -> None:
    try:
        asyncio.run(amain())
    except devserver.DevServerError as e:
        sys.exit(f"FAIL: {e}")
    except AssertionError as e:
        sys.exit(f"FAIL: {e}")
    print("oracle: official allowly 0.8.0 agent tokens refused with 401 agent_token_unverifiable")


if __name__ == "__main__":
    main()
