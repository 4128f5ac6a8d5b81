"""The newer official Python SDK `allowly==0.8.0` (PyPI) against our `allowly serve --dev`: agent identity.

    tests/oracle/.venv-sdk-0.8.0/bin/python tests/oracle/agent_token_sdk_0_8_0.py

Run with the 0.8.0 venv's python (`make test-oracles` builds it and the debug `allowly` binary). Asserted:
- our `allowly agent enroll AGENT --out FILE` (setup key from the environment) writes a credential file that 0.8.0's
  `NativeAgentCredential.from_file` loads, and the file is mode 0600;
- tokens 0.8.0 mints from it are accepted by our server: a check through `Allowly(..., agent_token_supplier=
  credential.token)` and one with `check(..., agent_token=credential.token())` are answered allow `scope_granted`
  (not a fallback);
- bad tokens are refused with 0.8.0's `AllowlyAPIError`, HTTP 401 and our typed codes, without echoing the token:
  not a token (`agent_token_malformed`), a token 0.8.0 minted 10 minutes ago (`agent_token_expired`), the agent's
  valid token on another agent's authorization (`agent_token_agent_mismatch`), a tampered signature
  (`agent_token_invalid_signature`), and a credential of the same shape whose key was never registered
  (`agent_token_unverifiable`: a token the server cannot verify is still refused, never accepted silently);
- without a token the same check is answered and parsed by 0.8.0 (our `engine_version` is the engine-manifest
  digest it requires).
Before agent identity existed this script asserted that every token was refused with `agent_token_unverifiable`.
The scope-based authorizations are created with a plain HTTP POST in the 0.3.1 shape, which 0.8.0's
`authorizations.create` (editions only) does not send. API keys and the private key stay in memory and in the 0600
file: nothing here prints them.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata as md
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import httpx
from allowly import Allowly, AllowlyAPIError, AllowlyProtocolError, NativeAgentCredential
import allowly.agent_identity as official_identity
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
import devserver  # noqa: E402  (tests/support/devserver.py: the one way to start the dev server)

AGENT = "oracle-agent"


def step(text: str) -> None:
    print(f"  ok  {text}", flush=True)


def assert_refused(label: str, exc: BaseException | None, code: str, token: str) -> None:
    assert exc is not None, f"{label}: the official 0.8.0 client returned a result; our server must refuse it"
    assert isinstance(exc, AllowlyAPIError), f"{label}: expected AllowlyAPIError, got {type(exc).__name__}: {exc}"
    assert (exc.status, exc.code) == (401, code), f"{label}: expected HTTP 401 {code}, got HTTP {exc.status} {exc.code}: {exc}"
    assert token not in f"{exc} {exc!r} {exc.fields!r}", f"{label}: the error echoes the agent token"
    step(f"{label} -> AllowlyAPIError HTTP {exc.status} {exc.code}")


async def raised(coro) -> BaseException | None:
    try:
        await coro
    except Exception as e:  # noqa: BLE001 (the caller asserts on the type)
        return e
    return None


def enroll(info: dict, out: Path) -> None:
    env = dict(os.environ, ALLOWLY_SETUP_API_KEY=info["setup_api_key"], ALLOWLY_BASE_URL=info["base_url"])
    done = subprocess.run([str(devserver.allowly_binary()), "agent", "enroll", AGENT, "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"allowly agent enroll: exit {done.returncode}: {done.stderr}"
    assert info["setup_api_key"] not in done.stdout + done.stderr, "enroll printed the setup key"
    private = json.loads(out.read_text())["private_key_jwk"]["d"]
    assert private not in done.stdout + done.stderr, "enroll printed the private key"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600, f"credential file mode {oct(out.stat().st_mode)}"
    step(f"allowly agent enroll {AGENT} --out FILE -> exit 0, file mode 0600")


def unregistered_like(credential_file: Path) -> NativeAgentCredential:
    """The same ids with a fresh key and a key id the server never saw."""
    data = json.loads(credential_file.read_text())
    key = Ed25519PrivateKey.generate()
    raw = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    data["key_id"] = "akey_never_registered"
    data["private_key_jwk"] = {
        "kty": "OKP", "crv": "Ed25519",
        "x": raw(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)),
        "d": raw(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())),
    }
    return NativeAgentCredential(data)


async def amain() -> None:
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    env.pop("ALLOWLY_MASTER_KEY", None)
    with devserver.dev_server(env=env) as server, tempfile.TemporaryDirectory() as tmp:
        info = server.info
        print(f"official allowly=={md.version('allowly')} against allowly serve --dev at {info['base_url']}")
        credential_file = Path(tmp) / "agent.json"
        enroll(info, credential_file)
        credential = NativeAgentCredential.from_file(credential_file)
        step("NativeAgentCredential.from_file reads the file our CLI wrote")

        headers = {"Authorization": f"Bearer {info['runtime_api_key']}"}
        async with httpx.AsyncClient(base_url=info["base_url"], headers=headers, timeout=10) as raw:
            auths = {}
            for agent in (AGENT, "another-agent"):
                resp = await raw.post("/v1/authorizations",
                                      json={"user_id": "subject:oracle", "agent_id": agent, "scopes": ["email.read"]})
                assert resp.status_code == 201, f"create authorization: HTTP {resp.status_code} {resp.text[:300]}"
                auths[agent] = resp.json()["authorization_id"]
            auth, other = auths[AGENT], auths["another-agent"]
            step("create authorizations for the enrolled agent and another one (plain HTTP, our wire)")

            # 10 s check timeout: a debug build on a busy machine must not turn an answer into a fallback.
            base = dict(base_url=info["base_url"], check_timeout_ms=10_000, dangerously_allow_insecure_base_url=True)

            def accepted(label: str, response) -> None:
                result = response.results["email.read"]
                assert not result.is_fallback, f"{label}: fell back ({result.reason})"
                assert (result.decision, result.reason) == ("allow", "scope_granted"), f"{label}: {result.decision} ({result.reason})"
                step(f"{label} -> allow (scope_granted)")

            async with Allowly(info["runtime_api_key"], agent_token_supplier=credential.token, **base) as client:
                accepted("Allowly(agent_token_supplier=credential.token).check(...)",
                         await client.check(authorization_id=auth, actions=["email.read"]))
                mismatch = credential.token()
                assert_refused("the agent's token on another agent's authorization", await raised(
                    client.check(authorization_id=other, actions=["email.read"], agent_token=mismatch)),
                    "agent_token_agent_mismatch", mismatch)

            async with Allowly(info["runtime_api_key"], **base) as client:
                accepted("check(agent_token=credential.token())", await client.check(
                    authorization_id=auth, actions=["email.read"], agent_token=credential.token()))

                with mock.patch.object(official_identity.time, "time", return_value=official_identity.time.time() - 600):
                    expired = credential.token()
                head, sig = credential.token().rsplit(".", 1)
                tampered = f"{head}.{('B' if sig[0] == 'A' else 'A')}{sig[1:]}"
                unknown = unregistered_like(credential_file).token()
                garbage = "oracle-agent-token-7f3c9d2e1b"
                for label, token, code in [
                    ("not a token", garbage, "agent_token_malformed"),
                    ("a token minted 10 minutes ago", expired, "agent_token_expired"),
                    ("a tampered signature", tampered, "agent_token_invalid_signature"),
                    ("a key the server never registered", unknown, "agent_token_unverifiable"),
                ]:
                    assert_refused(label, await raised(client.check(
                        authorization_id=auth, actions=["email.read"], agent_token=token)), code, token)

                # The same check without a token.
                try:
                    response = await client.check(authorization_id=auth, actions=["email.read"])
                except (AllowlyAPIError, AllowlyProtocolError) as e:
                    raise AssertionError(f"check() without a token failed in the official client: {e!r}")
                accepted("check() without a token (0.8.0 parses our check response)", response)


def main() -> None:
    try:
        asyncio.run(amain())
    except devserver.DevServerError as e:
        sys.exit(f"FAIL: {e}")
    except AssertionError as e:
        sys.exit(f"FAIL: {e}")
    print("oracle: tokens official allowly 0.8.0 mints from our enrolled credential are accepted; bad ones refused")


if __name__ == "__main__":
    main()
