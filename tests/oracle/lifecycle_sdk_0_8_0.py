"""The official Python SDK `allowly==0.8.0` and its verifier `allowly-receipt-format==5.0.0`, unchanged, against
our `allowly serve --dev`: the policy-edition lifecycle end to end, every receipt verified offline.

    tests/oracle/.venv-sdk-0.8.0/bin/python tests/oracle/lifecycle_sdk_0_8_0.py

Run with the 0.8.0 venv's python (`make test-oracles` builds it; 0.8.0 pins allowly-receipt-format 5.0.0 there).
Every call goes through the official client's public API, as its docs show it:
- `readiness()`; `policies.get` / `policies.list` on the demo edition the dev server published (named in the ready
  file as `policy`), `policies.preview`, and `policies.publish` of a second edition with the setup key;
- `authorizations.create(user_id=..., policy_id=..., policy_version=...)` on the published edition;
- `check` → allow (`email.read`); `email.send` → confirm with a `cnf_` monitor id → `confirmations.get_status`
  pending → `confirmations.approve(nonce, approved=True)` → `get_status` approved/available → re-check allow
  `user_confirmed`; a bulk send → escalate with an `esc_` id to `member:compliance`; revoke → deny
  `authorization_revoked`;
- `receipts.fetch_signed` for every receipt handed out; then the 5.0.0 verifier (`load_keys_from_json`,
  `verify_receipt` with the expected workspace and trusted fingerprints) accepts each one, its CLI
  `allowly-receipt-verify` accepts one, and a receipt with its payload edited is rejected (`SignatureMismatchError`).
Any official-client exception fails the script. The API keys stay in memory.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata as md
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from allowly import Allowly
from allowly_receipt_format import (SignatureMismatchError, load_keys_from_json, public_key_fingerprint,
                                    verify_receipt)

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
import devserver  # noqa: E402  (tests/support/devserver.py: the one way to start the dev server)


def step(text: str) -> None:
    print(f"  ok  {text}", flush=True)


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


async def amain() -> None:
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    env.pop("ALLOWLY_MASTER_KEY", None)
    with devserver.dev_server(env=env) as server:
        info = server.info
        edition = info["policy"]
        print(f"official allowly=={md.version('allowly')}, allowly-receipt-format=="
              f"{md.version('allowly-receipt-format')} against allowly serve --dev at {info['base_url']}")
        base = dict(base_url=info["base_url"], check_timeout_ms=10_000, dangerously_allow_insecure_base_url=True)
        receipt_ids: list[str] = []
        async with Allowly(info["runtime_api_key"], **base) as client, \
                Allowly(info["setup_api_key"], **base) as setup:
            expect(await client.readiness() is True, "readiness() is not True")
            step("readiness() -> True")
            policy = await client.policies.get(edition["policy_id"])
            expect(policy.policy_ref["policy_version"] == edition["policy_version"], f"policies.get: {policy}")
            listed = await client.policies.list(limit=10)
            expect(any(p.policy_ref["policy_id"] == edition["policy_id"] for p in listed.items), "policies.list")
            step(f"policies.get / list -> {edition['policy_id']} v{edition['policy_version']} "
                 f"(definition_sha256 {policy.policy_ref['definition_sha256'][:12]}...)")
            preview = await client.policies.preview(definition=policy.definition, action="email.send",
                                                    context={"recipient_count": 80})
            expect(preview.policy_eval.result.decision == "escalate", f"preview: {preview}")
            step("policies.preview(email.send, 80 recipients) -> escalate (nothing stored)")
            published = await setup.policies.publish(
                policy_id="oracle-copy", definition=policy.definition, idempotency_key="oracle-publish-1")
            expect(published.policy_ref["policy_version"] == 1, f"publish: {published}")
            step(f"policies.publish(oracle-copy) -> version {published.policy_ref['policy_version']}")

            auth = await client.authorizations.create(
                user_id="subject:oracle-080", policy_id=edition["policy_id"], policy_version=edition["policy_version"],
                metadata={"source": "oracle"})
            expect(auth.policy_ref["policy_id"] == edition["policy_id"], f"create: {auth}")
            receipt_ids.append(auth.receipt.receipt_id)
            step(f"authorizations.create(policy edition) -> {auth.authorization_id} actions {auth.actions}")

            async def one(action: str, **kw):
                r = (await client.check(authorization_id=auth.authorization_id, actions=[action], **kw)).results[action]
                expect(not r.is_fallback, f"{action}: fell back ({r.reason})")
                receipt_ids.append(r.receipt.receipt_id)
                return r

            r = await one("email.read", client_timestamp="2026-12-06T10:00:00Z", idempotency_key="oracle-read-1")
            expect((r.decision, r.reason) == ("allow", "policy_allowed"), f"email.read: {r.decision} {r.reason}")
            step("check(email.read) -> allow (policy_allowed)")
            r = await one("email.send", context={"recipient_count": 2})
            expect(r.decision == "confirm" and r.confirmation_id.startswith("cnf_"), f"email.send: {r}")
            status = await client.confirmations.get_status(r.confirmation_id)
            expect((status.status, status.authority_status) == ("pending", "none"), f"status: {status}")
            approval = await client.confirmations.approve(r.confirm_nonce, approved=True)
            expect(approval.decision == "approved", f"approve: {approval}")
            receipt_ids.append(approval.receipt.receipt_id)
            status = await client.confirmations.get_status(r.confirmation_id)
            expect((status.status, status.authority_status) == ("approved", "available"), f"status: {status}")
            step("check(email.send) -> confirm; get_status pending; approve -> approved; get_status available")
            r = await one("email.send", context={"recipient_count": 2})
            expect((r.decision, r.reason) == ("allow", "user_confirmed"), f"re-check: {r.decision} {r.reason}")
            step("re-check(email.send) -> allow (user_confirmed)")
            r = await one("email.send", context={"recipient_count": 80})
            expect(r.decision == "escalate" and r.escalation_id.startswith("esc_"), f"bulk send: {r}")
            expect(r.escalation_to == "member:compliance", f"escalation_to: {r.escalation_to}")
            step(f"check(email.send, 80 recipients) -> escalate {r.escalation_id} to {r.escalation_to}")

            revoked = await client.authorizations.revoke(auth.authorization_id)
            receipt_ids.append(revoked.receipt.receipt_id)
            r = await one("email.read")
            expect((r.decision, r.reason) == ("deny", "authorization_revoked"), f"after revoke: {r.decision} {r.reason}")
            step("revoke; check(email.read) -> deny (authorization_revoked)")

            signed = [await client.receipts.fetch_signed(rid, poll_interval=0.2, timeout=30) for rid in receipt_ids]
            step(f"receipts.fetch_signed -> {len(signed)} signed receipts")

        async with httpx.AsyncClient(base_url=info["base_url"], timeout=10) as raw:
            doc = (await raw.get(f"/v1/workspaces/{info['workspace_id']}/keys")).json()
        keys = load_keys_from_json(doc)
        trusted = {public_key_fingerprint(k) for k in keys}
        for receipt in signed:
            payload = verify_receipt(receipt, keys, expected_workspace_id=info["workspace_id"],
                                     trusted_key_fingerprints=trusted)
            expect(payload["schema_version"] == "5" and payload["policy_ref"]["policy_id"] == edition["policy_id"],
                   f"receipt {payload['receipt_id']}: {payload}")
        step(f"allowly-receipt-format 5.0.0 verify_receipt accepts all {len(signed)} (wire 5, policy_ref)")

        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "keys.json").write_text(json.dumps(doc))
            (Path(tmp) / "receipt.json").write_text(json.dumps(signed[1]))
            cli = Path(sys.executable).with_name("allowly-receipt-verify")
            args = [str(cli), "--workspace-id", info["workspace_id"]]
            for fp in sorted(trusted):
                args += ["--trusted-key-fingerprint", fp]
            out = subprocess.run(args + [f"{tmp}/receipt.json", f"{tmp}/keys.json"], capture_output=True, text=True)
            expect(out.returncode == 0 and out.stdout.startswith("OK"), f"CLI: {out.returncode} {out.stdout}{out.stderr}")
            step(f"allowly-receipt-verify CLI: {out.stdout.strip()}")

        tampered = dict(signed[1])
        payload = json.loads(base64.urlsafe_b64decode(tampered["payload"] + "=="))
        payload["decision"] = "deny"
        tampered["payload"] = base64.urlsafe_b64encode(
            json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()).decode().rstrip("=")
        try:
            verify_receipt(tampered, keys, expected_workspace_id=info["workspace_id"], trusted_key_fingerprints=trusted)
        except SignatureMismatchError:
            step("a receipt with its decision edited -> SignatureMismatchError")
        else:
            raise AssertionError("the 5.0.0 verifier accepted an edited receipt")


def main() -> None:
    try:
        asyncio.run(amain())
    except (devserver.DevServerError, AssertionError) as e:
        sys.exit(f"FAIL: {e}")
    print("oracle: official allowly 0.8.0 + allowly-receipt-format 5.0.0 run the policy-edition lifecycle on our server")


if __name__ == "__main__":
    main()
