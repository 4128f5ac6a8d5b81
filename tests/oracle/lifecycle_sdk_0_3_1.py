"""The walkthrough lifecycle through the official Python SDK `allowly==0.3.1` (PyPI) against our `allowly serve --dev`.

    tests/oracle/.venv-sdk-0.3.1/bin/python tests/oracle/lifecycle_sdk_0_3_1.py EXPORT_DIR

Run with the 0.3.1 venv's python (`make test-oracles` builds it): `import allowly` here is the official package, not
our binding. Every call goes through the official client's public API, the way its users call it; the only raw HTTP
request is the unauthenticated GET of the key document, which the official client has no method for (its
`allowly.verify.fetch_keys_doc` needs the verifier extra, which this venv deliberately does not install).

Writes EXPORT_DIR/receipts.jsonl (every signed receipt, as the official `receipts.fetch_signed` returned it),
EXPORT_DIR/keys.json (the key document, byte for byte as served) and EXPORT_DIR/expected.json (receipt ids and
decisions, so the verifier step knows how many receipts to expect). Exits non-zero on the first failed assertion.
The API keys stay in memory: nothing here prints them.
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from allowly import ActionEntry, Allowly, AllowlyAPIError
from allowly.identifiers import from_email

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
import devserver  # noqa: E402  (tests/support/devserver.py: the one way to start the dev server)

PEPPER = "allowly-oracle-pepper-NOT-FOR-PRODUCTION"
EMAIL_AGENT = "my-email-agent"
BUDGET_AGENT = "research-agent"
SEND_PROMPT = "Send this reply from your Gmail account (thread abc123)?"
BUDGET_LIMIT = 50_000_000
ESTIMATE_FITS = 24_000_000
ACTUAL_COST = 20_000_000
ESTIMATE_OVER = 31_000_000  # 20 spent + 31 > 50


def step(text: str) -> None:
    print(f"  ok  {text}", flush=True)


class Lifecycle:
    def __init__(self, client: Allowly) -> None:
        self.client = client
        # (label, receipt_id, expected decision or None for event receipts) of every receipt the server handed out.
        self.issued: list[tuple[str, str, str | None]] = []

    def track(self, label: str, envelope, decision: str | None = None) -> None:
        assert envelope is not None, f"{label}: the server returned no receipt envelope"
        receipt_id = envelope.receipt_id if envelope.status == "pending" else envelope.receipt["receipt_id"]
        self.issued.append((label, receipt_id, decision))

    async def check(self, label: str, auth_id: str, action: str, decision: str, reason: str, **kw):
        response = await self.client.check(authorization_id=auth_id, actions=[action], **kw)
        assert response.authorization_id == auth_id, f"{label}: response is for {response.authorization_id}"
        result = response.results[action]
        assert not result.is_fallback, (
            f"{label}: the official client fell back ({result.reason}): our server did not answer in time or at all")
        assert (result.decision, result.reason) == (decision, reason), (
            f"{label}: expected {decision} ({reason}), got {result.decision} ({result.reason})")
        self.track(label, result.receipt, decision)
        step(f"{label} -> {result.decision} ({result.reason})")
        return result

    async def run(self, user_id: str) -> None:
        c = self.client
        expires = datetime.now(timezone.utc) + timedelta(hours=1)

        # 1. The user authorizes an email agent; email.send needs the user's OK each time.
        auth = await c.authorizations.create(
            user_id=user_id,
            agent_id=EMAIL_AGENT,
            actions=["email.read", ActionEntry(name="email.send", constraints={"confirm_prompt": SEND_PROMPT})],
            requires_confirm_for=["email.send"],
            expires_at=expires,
            metadata={"source": "oracle"},
        )
        assert auth.authorization_id.startswith("auth_"), f"authorization id {auth.authorization_id!r}"
        assert auth.requires_confirm_for == ["email.send"], f"requires_confirm_for {auth.requires_confirm_for!r}"
        assert auth.budget_limit_micros is None, f"unbudgeted authorization has budget {auth.budget_limit_micros!r}"
        self.track("authorization.create (email)", auth.receipt)
        step(f"create authorization {auth.authorization_id} (email.read, email.send confirm)")
        email = auth.authorization_id

        # 2. Check before every action: allow, confirm -> approve -> allow (user_confirmed), not granted -> deny.
        await self.check("check email.read", email, "email.read", "allow", "scope_granted",
                         resource="gmail:thread:abc123")
        send = await self.check("check email.send", email, "email.send", "confirm", "scope_requires_user_confirmation",
                                resource="gmail:thread:abc123")
        assert send.confirm_prompt_hint == SEND_PROMPT, f"confirm_prompt_hint {send.confirm_prompt_hint!r}"
        assert send.confirm_nonce, "the confirm result carries no confirm_nonce"
        approval = await c.confirmations.approve(send.confirm_nonce, approved=True, ttl_seconds=300)
        assert approval.decision == "approved", f"confirmation answered {approval.decision!r}"
        assert approval.authorization_id == email, f"approval is for {approval.authorization_id!r}"
        step("confirmations.approve(nonce, approved=True) -> approved")
        await self.check("re-check email.send", email, "email.send", "allow", "user_confirmed")
        # The approval is single use: the next send needs the user again.
        await self.check("check email.send again", email, "email.send", "confirm", "scope_requires_user_confirmation")
        # A second use of the same nonce is refused (the official client raises AllowlyAPIError).
        try:
            await c.confirmations.approve(send.confirm_nonce, approved=True)
        except AllowlyAPIError as e:
            assert e.status in (404, 410), f"reused nonce: HTTP {e.status} {e.code}"
            step(f"reusing the nonce -> HTTP {e.status} {e.code}")
        else:
            raise AssertionError("a confirm nonce was accepted twice")
        await self.check("check calendar.write (not granted)", email, "calendar.write", "deny",
                         "scope_not_in_authorization")

        # 3. A budgeted authorization: a check that fits, the settlement of its real cost, a check that no longer fits.
        budgeted = await c.authorizations.create(
            user_id=user_id, agent_id=BUDGET_AGENT, actions=["llm.enrich"], expires_at=expires,
            budget_limit_micros=BUDGET_LIMIT,
        )
        assert budgeted.budget_limit_micros == BUDGET_LIMIT, f"budget_limit_micros {budgeted.budget_limit_micros!r}"
        assert budgeted.budget_spent_micros == 0, f"budget_spent_micros {budgeted.budget_spent_micros!r}"
        self.track("authorization.create (budget)", budgeted.receipt)
        step(f"create authorization {budgeted.authorization_id} (llm.enrich, budget {BUDGET_LIMIT})")
        fits = await self.check("check llm.enrich estimate 24", budgeted.authorization_id, "llm.enrich", "allow",
                                "scope_granted", estimated_cost_micros=ESTIMATE_FITS)
        b = fits.budget
        assert b is not None, "a budgeted allow carries no budget info"
        assert (b.limit_micros, b.spent_micros, b.estimated_cost_micros, b.spent_after_micros) == (
            BUDGET_LIMIT, 0, ESTIMATE_FITS, ESTIMATE_FITS), f"budget info {b!r}"
        check_receipt_id = fits.receipt.receipt_id if fits.receipt.status == "pending" else fits.receipt.receipt["receipt_id"]
        settlement = await c.settle_budget(check_receipt_id=check_receipt_id, actual_cost_micros=ACTUAL_COST)
        assert settlement.authorization_id == budgeted.authorization_id, f"settled {settlement.authorization_id!r}"
        assert (settlement.estimated_cost_micros, settlement.actual_cost_micros, settlement.delta_micros,
                settlement.spent_before_micros, settlement.spent_after_micros) == (
            ESTIMATE_FITS, ACTUAL_COST, ACTUAL_COST - ESTIMATE_FITS, ESTIMATE_FITS, ACTUAL_COST), (
            f"settlement {settlement!r}")
        self.track("budget.settle", settlement.receipt)
        step(f"settle_budget(actual {ACTUAL_COST}) -> spent {settlement.spent_after_micros}")
        try:
            await c.settle_budget(check_receipt_id=check_receipt_id, actual_cost_micros=ACTUAL_COST)
        except AllowlyAPIError as e:
            assert (e.status, e.code) == (409, "already_settled"), f"second settlement: HTTP {e.status} {e.code}"
            step("settling again -> HTTP 409 already_settled")
        else:
            raise AssertionError("the same check was settled twice")
        over = await self.check("check llm.enrich estimate 31", budgeted.authorization_id, "llm.enrich", "deny",
                                "budget_exceeded", estimated_cost_micros=ESTIMATE_OVER)
        assert over.budget is not None and over.budget.spent_micros == ACTUAL_COST, f"budget info {over.budget!r}"

        # 3b. Scopes, requires_confirm_for and a budget on one authorization: the estimate is reserved only once the
        # user's approval turns the confirm into an allow.
        combined = await c.authorizations.create(
            user_id=user_id, agent_id=BUDGET_AGENT, actions=["llm.enrich"], requires_confirm_for=["llm.enrich"],
            expires_at=expires, budget_limit_micros=BUDGET_LIMIT,
        )
        assert (combined.requires_confirm_for, combined.budget_limit_micros) == (["llm.enrich"], BUDGET_LIMIT), (
            f"confirm + budget authorization: {combined.requires_confirm_for!r}, {combined.budget_limit_micros!r}")
        self.track("authorization.create (confirm + budget)", combined.receipt)
        step(f"create authorization {combined.authorization_id} (llm.enrich, confirm, budget {BUDGET_LIMIT})")
        ask = await self.check("check llm.enrich (confirm + budget)", combined.authorization_id, "llm.enrich", "confirm",
                               "scope_requires_user_confirmation", estimated_cost_micros=ESTIMATE_FITS)
        assert ask.budget is not None and ask.budget.spent_after_micros == 0, f"a confirm reserved budget: {ask.budget!r}"
        approval = await c.confirmations.approve(ask.confirm_nonce, approved=True)
        assert approval.decision == "approved", f"confirmation answered {approval.decision!r}"
        step("confirmations.approve(nonce, approved=True) -> approved")
        ok = await self.check("re-check llm.enrich (confirm + budget)", combined.authorization_id, "llm.enrich", "allow",
                              "user_confirmed", estimated_cost_micros=ESTIMATE_FITS)
        assert ok.budget is not None and ok.budget.spent_after_micros == ESTIMATE_FITS, f"budget info {ok.budget!r}"

        # 4. The user withdraws the email authorization; every later check on it is denied.
        revocation = await c.authorizations.revoke(email, revoked_by="user")
        assert revocation.authorization_id == email, f"revoked {revocation.authorization_id!r}"
        self.track("authorization.revoke", revocation.receipt)
        step(f"revoke {email} -> revoked at {revocation.revoked_at}")
        await self.check("check email.read after revoke", email, "email.read", "deny", "authorization_revoked")

    async def fetch_all(self) -> list[dict]:
        """Every issued receipt, signed, through the official `receipts.fetch_signed` (it polls until signed)."""
        signed = []
        for label, receipt_id, decision in self.issued:
            receipt = await self.client.receipts.fetch_signed(receipt_id, poll_interval=0.05, timeout=30)
            assert receipt.get("receipt_id") == receipt_id, f"{label}: asked for {receipt_id}, got {receipt.get('receipt_id')}"
            if decision is not None:
                assert receipt.get("decision") == decision, (
                    f"{label}: receipt {receipt_id} says {receipt.get('decision')}, the check said {decision}")
            assert isinstance(receipt.get("signature"), str) and receipt["signature"], f"{label}: unsigned receipt"
            signed.append(receipt)
        return signed


async def amain(export_dir: Path) -> None:
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    env.pop("ALLOWLY_MASTER_KEY", None)
    with devserver.dev_server(env=env) as server:
        info = server.info
        print(f"official allowly=={md.version('allowly')} against allowly serve --dev at {info['base_url']}")
        # The official default check timeout is 1 s; a debug build on a busy machine can exceed it, and the client would
        # then answer a fallback deny instead of the server's decision. 10 s, as a user on a slow link would set it.
        client = Allowly(info["runtime_api_key"], base_url=info["base_url"], check_timeout_ms=10_000,
                         dangerously_allow_insecure_base_url=True)
        async with client:
            walk = Lifecycle(client)
            await walk.run(from_email("alice@example.com", pepper=PEPPER))
            receipts = await walk.fetch_all()
            step(f"receipts.fetch_signed: {len(receipts)} signed receipts")
        # The key document needs no key; the official client has no method for it without its verifier extra.
        resp = httpx.get(f"{info['base_url']}/v1/workspaces/{info['workspace_id']}/keys", timeout=10)
        assert resp.status_code == 200, f"GET key document: HTTP {resp.status_code}"
        keys_doc = resp.json()
        assert keys_doc.get("workspace_id") == info["workspace_id"], "the key document is for another workspace"
        export_dir.mkdir(parents=True, exist_ok=True)
        (export_dir / "keys.json").write_bytes(resp.content)
        with open(export_dir / "receipts.jsonl", "w", encoding="utf-8") as f:
            for receipt in receipts:
                f.write(json.dumps(receipt, ensure_ascii=False, separators=(",", ":")) + "\n")
        expected = {"workspace_id": info["workspace_id"],
                    "receipts": [{"label": l, "receipt_id": r, "decision": d} for l, r, d in walk.issued]}
        (export_dir / "expected.json").write_text(json.dumps(expected, indent=1))
        step(f"wrote {len(receipts)} receipts and the key document to {export_dir}")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        asyncio.run(amain(Path(sys.argv[1])))
    except devserver.DevServerError as e:
        sys.exit(f"FAIL: {e}")
    except AssertionError as e:
        sys.exit(f"FAIL: {e}")
    except AllowlyAPIError as e:  # the server refused a call a 0.3.1 user makes: an incompatibility
        sys.exit(f"FAIL: the server answered HTTP {e.status} {e.code}: {e}")
    print("oracle: official allowly 0.3.1 lifecycle passed")


if __name__ == "__main__":
    main()
