"""The seed 000 lifecycle in Python, step by step, against a running `allowly serve --dev` (what `make demo` runs).

Usage: python walkthrough.py READY.json [--export DIR]

READY.json is the ready file of `allowly serve --dev`. With --export, the key document, every signed receipt (JSON
Lines) and one tampered receipt are written to DIR, so scripts/demo.sh can have the `allowly` CLI reach the same
verdicts offline. tests/test_examples.py runs `main` against a real server, so this file cannot rot.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from allowly import Allowly, trace
from allowly.identifiers import from_email
from allowly.verify import VerificationError, load_keys_from_json, verify_receipt

# Used only when ALLOWLY_PII_PEPPER is unset, so the demo runs from a clean clone. Anyone holding a real pepper can
# test guessed emails against user ids: keep yours secret.
DEMO_PEPPER = "allowly-demo-pepper-NOT-FOR-PRODUCTION"
EMAIL = "alice@example.com"
SEND_PROMPT = "Send this reply from your Gmail account (thread abc123)?"


def dollars(micros: int) -> str:
    return f"${micros / 1_000_000:.2f}"


class Walk:
    def __init__(self, ready: Dict[str, str], out=sys.stdout) -> None:
        self.ready = ready
        self.out = out
        self.receipt_ids: List[str] = []  # everything issued, fetched and verified in step 4
        self.problems: List[str] = []

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def step(self, ok: bool, text: str) -> None:
        self.say(f"  {'✓' if ok else '✗'} {text}")
        if not ok:
            self.problems.append(text)

    def expect(self, label: str, result: Any, decision: str, reason: str) -> None:
        line = f"{label} → {result.decision} ({result.reason})"
        if result.budget is not None:
            b = result.budget
            line += f", spent {dollars(b.spent_micros)} of {dollars(b.limit_micros)}"
        self.step((result.decision, result.reason) == (decision, reason), line)
        if result.receipt is not None:
            self.receipt_ids.append(result.receipt.receipt_id)

    async def run(self, export: Optional[Path]) -> List[str]:
        ready = self.ready
        pepper = os.environ.get("ALLOWLY_PII_PEPPER") or DEMO_PEPPER
        async with Allowly(
            api_key=ready["runtime_api_key"], base_url=ready["base_url"], allow_insecure_http=True
        ) as allowly:
            self.say(f"Allowly Python walkthrough against {allowly.base_url} (workspace {ready['workspace_id']})")

            self.say("\n1. The user authorizes an email agent")
            user_id = from_email(EMAIL, pepper=pepper)
            origin = "from ALLOWLY_PII_PEPPER" if pepper != DEMO_PEPPER else "demo-only pepper"
            self.step(True, f"user id from_email({EMAIL}) → {user_id} ({origin})")
            authorization = await allowly.authorizations.create(
                user_id=user_id,
                agent_id="my-email-agent",
                scopes=["email.read", {"name": "email.send", "constraints": {"confirm_prompt": SEND_PROMPT}}],
                expires_at="2027-12-31T00:00:00Z",
                metadata={"source": "onboarding"},
                requires_confirm_for=["email.send"],
            )
            self.step(
                authorization.receipt.status == "pending",
                f"create authorization {authorization.authorization_id}: my-email-agent may "
                f"{', '.join(authorization.scopes)} (email.send needs the user's OK) — receipt "
                f"{authorization.receipt.receipt_id} {authorization.receipt.status}",
            )
            self.receipt_ids.append(authorization.receipt.receipt_id)
            auth_id = authorization.authorization_id

            self.say("\n2. Check before every action")
            with trace(run_id="demo-run-1", agent_id="my-email-agent"):
                context = {"initiated_by": "user", "origin": "chat"}
                read = await allowly.check(
                    authorization_id=auth_id, scopes=["email.read"], resource="gmail:thread:abc123", context=context
                )
                self.expect("check email.read", read.results["email.read"], "allow", "scope_granted")
                result = await allowly.check(
                    authorization_id=auth_id, scopes=["email.send"], resource="gmail:thread:abc123", context=context
                )
                scope_result = result.results["email.send"]
                self.expect("check email.send", scope_result, "confirm", "scope_requires_user_confirmation")
                self.say(f'      the user is asked: "{scope_result.confirm_prompt_hint}" '
                         f"(confirmation {scope_result.confirmation_id})")
                resolution = await allowly.confirmations.approve(scope_result.confirm_nonce, approved=True)
                self.step(
                    resolution.decision == "approved",
                    f"user approves → {resolution.decision} — receipt {resolution.receipt.receipt_id} pending",
                )
                self.receipt_ids.append(resolution.receipt.receipt_id)
                retry = await allowly.check(authorization_id=auth_id, scopes=["email.send"])
                self.expect("re-check email.send", retry.results["email.send"], "allow", "user_confirmed")
            self.say("      (every check above carries run_id=demo-run-1 in its receipt context, from trace())")

            self.say("\n3. A budgeted authorization")
            budgeted = await allowly.authorizations.create(
                user_id=user_id, agent_id="research-agent", scopes=["llm.enrich"], budget_limit_micros=50_000_000
            )
            self.step(True, f"create authorization {budgeted.authorization_id}: research-agent may llm.enrich, "
                            f"capped at {dollars(50_000_000)}")
            self.receipt_ids.append(budgeted.receipt.receipt_id)
            fits = await allowly.check(
                authorization_id=budgeted.authorization_id, scopes=["llm.enrich"], estimated_cost_micros=24_000_000
            )
            self.expect("check llm.enrich estimated $24.00", fits.results["llm.enrich"], "allow", "scope_granted")
            settlement = await allowly.budget.settle(
                check_receipt_id=fits.results["llm.enrich"].receipt.receipt_id, actual_cost_micros=20_000_000
            )
            self.step(settlement.spent_after_micros == 20_000_000,
                      f"settle the actual cost {dollars(settlement.actual_cost_micros)} → spent "
                      f"{dollars(settlement.spent_after_micros)} of $50.00")
            self.receipt_ids.append(settlement.receipt.receipt_id)
            over = await allowly.check(
                authorization_id=budgeted.authorization_id, scopes=["llm.enrich"], estimated_cost_micros=31_000_000
            )
            self.expect("check llm.enrich estimated $31.00", over.results["llm.enrich"], "deny", "budget_exceeded")
            denial_id = over.results["llm.enrich"].receipt.receipt_id

            self.say("\n4. The user withdraws the authorization")
            revocation = await allowly.authorizations.revoke(auth_id, revoked_by="user")
            self.step(revocation.receipt.status == "pending",
                      f"revoke {auth_id} by user at {revocation.revoked_at} — receipt "
                      f"{revocation.receipt.receipt_id} pending")
            self.receipt_ids.append(revocation.receipt.receipt_id)
            after = await allowly.check(authorization_id=auth_id, scopes=["email.read"])
            self.expect("check email.read after revoke", after.results["email.read"], "deny", "authorization_revoked")

            self.say("\n5. Fetch every signed receipt and verify it offline")
            keys = await allowly.keys.fetch(ready["workspace_id"])
            self.step(True, f"key document of {keys.workspace_id}: {', '.join(keys.key_ids)} "
                            "(fetched once; verifying needs no network)")
            signed = await asyncio.gather(*(allowly.receipts.fetch_signed(r) for r in self.receipt_ids))
            for receipt in signed:
                try:
                    v = verify_receipt(receipt, keys, expected_workspace_id=ready["workspace_id"])
                    self.step(True, f"{v.receipt_id} {v.name} → {v.decision} ({v.reason}): valid")
                except VerificationError as e:
                    self.step(False, f"{receipt.receipt_id}: INVALID {e.kind} ({e.message})")
            first_context = json.loads(signed[1].json)["context"]
            self.step(first_context.get("run_id") == "demo-run-1",
                      f"the check receipt's context: {json.dumps(first_context, sort_keys=True)}")
            original = next(r for r in signed if r.receipt_id == denial_id)
            tampered = json.loads(original.json)
            tampered["decision"] = "allow"
            try:
                verify_receipt(tampered, keys)
                self.step(False, "a tampered copy verified")
            except VerificationError as e:
                self.step(e.kind == "signature_mismatch",
                          f"a copy of {denial_id} edited from deny to allow is rejected: {e.kind}")

            if export is not None:
                export.mkdir(parents=True, exist_ok=True)
                (export / "keys.json").write_text(json.dumps(keys.to_dict()))
                (export / "receipts.jsonl").write_text("".join(r.json.replace("\n", " ") + "\n" for r in signed))
                (export / "tampered.json").write_text(json.dumps(tampered))

        verdict = "as documented" if not self.problems else "with deviations (✗ above)"
        self.say(f"\nDone {verdict}: {len(signed)} signed receipts verified offline, tampered copy rejected.")
        return self.problems


def main(argv: List[str]) -> int:
    args = list(argv)
    export = None
    if "--export" in args:
        i = args.index("--export")
        export = Path(args[i + 1])
        del args[i : i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    ready = json.loads(Path(args[0]).read_text())
    problems = asyncio.run(Walk(ready).run(export))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
