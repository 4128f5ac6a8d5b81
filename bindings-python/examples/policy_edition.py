"""The current official way, with this SDK: authorizations granted from a published policy edition, whose receipts
are Allowly Receipt Format wire 5 (what `make demo` runs after the seed walkthrough).

Usage: python policy_edition.py READY.json [--export DIR]

READY.json is the ready file of `allowly serve --dev`, whose `policy` names the demo edition the dev server published
(email.read allowed, email.send confirmed by the agent's owner, bulk sends escalated). With --export, the wire-5
receipts are appended to DIR/receipts.jsonl (written by walkthrough.py) and one is written to DIR/wire5.json, so
scripts/demo.sh can have the `allowly` CLI verify both wires offline. tests/test_examples.py runs `main` against a
real server, so this file cannot rot.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from allowly import Allowly
from allowly.identifiers import from_email
from allowly.verify import VerificationError, verify_receipt

DEMO_PEPPER = "allowly-demo-pepper-NOT-FOR-PRODUCTION"


class Edition:
    def __init__(self, ready: Dict[str, Any], out=sys.stdout) -> None:
        self.ready = ready
        self.out = out
        self.problems: List[str] = []

    def step(self, ok: bool, text: str) -> None:
        print(f"  {'✓' if ok else '✗'} {text}", file=self.out, flush=True)
        if not ok:
            self.problems.append(text)

    async def run(self, export: Optional[Path]) -> List[str]:
        ready, edition = self.ready, self.ready["policy"]
        async with Allowly(api_key=ready["runtime_api_key"], base_url=ready["base_url"],
                           allow_insecure_http=True) as allowly:
            print(f"\nA policy edition: {edition['policy_id']} v{edition['policy_version']}", file=self.out)
            policy = await allowly.policies.get(edition["policy_id"])
            self.step(True, f"published edition {policy.policy_ref.policy_id} v{policy.policy_ref.policy_version}, "
                            f"definition_sha256 {policy.policy_ref.definition_sha256[:16]}…")
            auth = await allowly.authorizations.create(
                user_id=from_email("bob@example.com", pepper=DEMO_PEPPER),
                policy_id=edition["policy_id"], policy_version=edition["policy_version"])
            self.step(True, f"authorization {auth.authorization_id} granted from it: {', '.join(auth.actions)}")
            ids = [auth.receipt.receipt_id]

            read = (await allowly.check(authorization_id=auth.authorization_id, actions=["email.read"])
                    ).results["email.read"]
            self.step((read.decision, read.reason) == ("allow", "policy_allowed"),
                      f"check email.read → {read.decision} ({read.reason})")
            send = (await allowly.check(authorization_id=auth.authorization_id, actions=["email.send"],
                                        context={"recipient_count": 1})).results["email.send"]
            self.step(send.decision == "confirm", f"check email.send → {send.decision} ({send.reason}); "
                                                  f"the edition's rule evaluated: {send.policy_eval.result.decision}")
            approval = await allowly.confirmations.approve(send.confirm_nonce, approved=True)
            again = (await allowly.check(authorization_id=auth.authorization_id, actions=["email.send"],
                                         context={"recipient_count": 1})).results["email.send"]
            self.step((again.decision, again.reason) == ("allow", "user_confirmed"),
                      f"owner approves → re-check email.send → {again.decision} ({again.reason})")
            bulk = (await allowly.check(authorization_id=auth.authorization_id, actions=["email.send"],
                                        context={"recipient_count": 80})).results["email.send"]
            self.step(bulk.decision == "escalate",
                      f"a send to 80 recipients → {bulk.decision} to {bulk.escalation_to} ({bulk.escalation_id})")
            ids += [r.receipt.receipt_id for r in (read, send, again, bulk)] + [approval.receipt.receipt_id]

            keys = await allowly.keys.fetch(ready["workspace_id"])
            signed = await asyncio.gather(*(allowly.receipts.fetch_signed(r) for r in ids))
            for receipt in signed:
                try:
                    v = verify_receipt(receipt, keys, expected_workspace_id=ready["workspace_id"])
                    self.step(v.schema_version == "5",
                              f"{v.receipt_id} wire {v.schema_version} {v.name} → {v.decision}: valid offline")
                except VerificationError as e:
                    self.step(False, f"{receipt.receipt_id}: INVALID {e.kind} ({e.message})")

        if export is not None:
            with (export / "receipts.jsonl").open("a") as f:
                f.write("".join(r.json.replace("\n", " ") + "\n" for r in signed))
            (export / "wire5.json").write_text(signed[1].json)
        print(f"\n{len(signed)} wire-5 receipts verified offline next to the wire-4 ones above.", file=self.out)
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
    return 1 if asyncio.run(Edition(ready).run(export)) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
