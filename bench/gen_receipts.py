"""Makes the receipt set P1a/P1b/P2 verify: ~10,000 receipts signed by a real `allowly serve --dev` (release),
driven through the real routes with our Python SDK, then exported with GET /v1/receipts/export (setup key).

    python bench/gen_receipts.py OUT_DIR [--count 10000]

Writes OUT_DIR/receipts.jsonl (exactly --count lines, the server's exact bytes, oldest first), OUT_DIR/keys.json (the
workspace key document) and OUT_DIR/receipts.meta.json (workspace, counts per kind/name/decision). Every kind the
server signs is in the mix: check receipts (allow/deny/confirm, with contexts and policy evaluations),
authorization.create, authorization.revoke, budget.settle and confirmation.resolve events.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import time
import urllib.request
from pathlib import Path

import allowly

from _common import dev_server, emit

CONCURRENCY = 32


def context_for(i: int, j: int) -> dict:
    """Contexts like an agent framework records them: who started it, where, what it touches."""
    return {
        "initiated_by": "agent" if j % 3 else "user",
        "origin": ["chat", "email", "scheduler"][i % 3],
        "recipient": {"domain": f"example{i % 7}.com", "count": 1 + (i * 7 + j) % 40, "tags": ["referral", f"q{1 + j % 4}"]},
        "transcript_completeness": (i * 13 + j * 29) % 101,
        "message_preview": f"Follow-up #{j} about the Q{1 + i % 4} roadmap for account {i}",
        "tool": {"name": "gmail.send", "version": "2.4.1", "dry_run": j % 5 == 0},
    }


class Driver:
    def __init__(self, client: "allowly.Allowly") -> None:
        self.client = client
        self.receipts = 0  # receipts the server returned ids for (each one is signed asynchronously)

    async def check(self, **kw) -> "allowly.CheckResult":
        r = await self.client.check(**kw)
        if r.is_fallback:
            raise RuntimeError("the dev server did not answer a check (fallback result)")
        self.receipts += len(r.results)
        return r

    async def create(self, **kw):
        a = await self.client.authorizations.create(**kw)
        self.receipts += 1 + (1 if kw.get("replaces") else 0)
        return a

    async def plain(self, i: int) -> None:
        """Read/write scopes with constraints: allows, scope_not_in_authorization, deny/confirm conditions."""
        a = await self.create(
            user_id=f"emp_{1000 + i}", agent_id="referral_outreach",
            scopes=["email.read", "calendar.read",
                    {"name": "email.send", "constraints": {
                        "resource_pattern": "mailbox:**",
                        "deny_when": [{"field": "recipient.count", "op": "gt", "value": 35}],
                        "confirm_when": [{"field": "transcript_completeness", "op": "lt", "value": 20}]}}],
            metadata={"source": "csv_upload_v2", "team": f"team-{i % 5}"},
        )
        for j in range(6):
            scopes = [["email.read", "calendar.read", "email.send"], ["email.send"], ["crm.contact.write", "email.read"]][j % 3]
            await self.check(authorization_id=a.authorization_id, scopes=scopes, resource=f"mailbox:emp_{i}:thread_{j}",
                             context=context_for(i, j), session_id=f"sess_{i}_{j // 2}")

    async def confirm(self, i: int) -> None:
        """requires_confirm_for: confirm, the user's answer (confirmation.resolve), then the re-check."""
        a = await self.create(user_id=f"emp_{2000 + i}", agent_id="payments_assistant",
                              scopes=["payments.send", "payments.read"], requires_confirm_for=["payments.send"])
        for j in range(2):
            r = await self.check(authorization_id=a.authorization_id, scopes=["payments.send", "payments.read"],
                                 resource=f"invoice:inv_{i}_{j}", context=context_for(i, j))
            res = r.results["payments.send"]
            if res.decision == "confirm" and res.confirm_nonce:
                await self.client.confirmations.approve(res.confirm_nonce, approved=(i + j) % 3 != 0)
                self.receipts += 1
                await self.check(authorization_id=a.authorization_id, scopes=["payments.send"],
                                 resource=f"invoice:inv_{i}_{j}", context=context_for(i, j + 1))

    async def budget(self, i: int) -> None:
        """Budgeted authorization: estimates reserve, settlements sign budget.settle events."""
        a = await self.create(user_id=f"emp_{3000 + i}", agent_id="research_agent", scopes=["llm.call"],
                              budget_limit_micros=5_000_000)
        for j in range(5):
            r = await self.check(authorization_id=a.authorization_id, scopes=["llm.call"],
                                 estimated_cost_micros=400_000 + 150_000 * j,
                                 context={"model": "gpt-large", "prompt_tokens": 1200 + 37 * j, "task": f"summarize-{i}"})
            res = r.results["llm.call"]
            if res.decision == "allow" and res.receipt is not None:
                await self.client.budget.settle(check_receipt_id=res.receipt.receipt_id,
                                                actual_cost_micros=300_000 + 170_000 * j)
                self.receipts += 1

    async def revoke(self, i: int) -> None:
        """A revocation (authorization.revoke) and the denies after it; plus an unknown authorization."""
        a = await self.create(user_id=f"emp_{4000 + i}", agent_id="calendar_agent", scopes=["calendar.write"])
        await self.check(authorization_id=a.authorization_id, scopes=["calendar.write"], resource=f"cal:{i}",
                         context=context_for(i, 0))
        await self.client.authorizations.revoke(a.authorization_id, revoked_by="user", notes="left the team")
        self.receipts += 1
        await self.check(authorization_id=a.authorization_id, scopes=["calendar.write"], context=context_for(i, 1))
        await self.check(authorization_id=f"auth_01HXZ2A0K1L2M3N4P5Q6R7{i % 10000:04d}", scopes=["calendar.write"])


def http_get(url: str, key: str | None = None) -> bytes:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


async def drive(info: dict, count: int) -> int:
    async with allowly.Allowly(api_key=info["runtime_api_key"], base_url=info["base_url"],
                               allow_insecure_http=True, check_timeout=30) as client:
        d = Driver(client)
        flows = [d.plain, d.confirm, d.budget, d.revoke]
        sem = asyncio.Semaphore(CONCURRENCY)
        i = 0

        async def one(n: int) -> None:
            async with sem:
                await flows[n % len(flows)](n)

        # A little over the target, so the exported set can be cut to exactly `count` lines.
        while d.receipts < count * 1.02:
            await asyncio.gather(*(one(n) for n in range(i, i + CONCURRENCY * 4)))
            i += CONCURRENCY * 4
        return d.receipts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--count", type=int, default=10_000)
    args = ap.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with dev_server() as info:
        started = time.monotonic()
        issued = asyncio.run(drive(info, args.count))
        # Signing is asynchronous: wait until the export holds every receipt the server returned.
        deadline = time.monotonic() + 300
        while True:
            export = http_get(f"{info['base_url']}/v1/receipts/export", info["setup_api_key"])
            lines = [l for l in export.split(b"\n") if l.strip()]
            if len(lines) >= issued or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if len(lines) < args.count:
            raise SystemExit(f"export holds {len(lines)} signed receipts, fewer than {args.count}")
        keys = http_get(f"{info['base_url']}/v1/workspaces/{info['workspace_id']}/keys")
        lines = lines[: args.count]
        (args.out_dir / "receipts.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        (args.out_dir / "keys.json").write_bytes(keys)
        kinds: collections.Counter = collections.Counter()
        decisions: collections.Counter = collections.Counter()
        for line in lines:
            r = json.loads(line)
            kinds[("action:" + r["action"]) if "action" in r else ("event:" + r["event"])] += 1
            decisions[r["decision"]] += 1
        meta = {
            "workspace_id": info["workspace_id"], "count": len(lines), "issued": issued, "exported": len(lines),
            "bytes": sum(len(l) for l in lines), "by_name": dict(kinds), "by_decision": dict(decisions),
            "seconds": round(time.monotonic() - started, 2),
        }
        (args.out_dir / "receipts.meta.json").write_text(json.dumps(meta, indent=1))
        emit(meta)


if __name__ == "__main__":
    main()
