"""The official Python SDK `allowly==0.8.0`, unchanged, against our `allowly serve --dev`: a two-level escalation
resolved by the named members through its `escalations` resource, and its `verify_resolution_webhook` accepting our
`escalation.resolved` delivery.

    tests/oracle/.venv-sdk-0.8.0/bin/python tests/oracle/escalations_sdk_0_8_0.py

0.8.0 has no call for members or for a scope-based authorization's `escalation_targets`, so those two setup steps are
plain HTTP (`POST /v1/setup/members`, `POST /v1/authorizations`); everything else goes through the official client's
public API: `check` -> escalate to member:l1 (parsed as `ActionCheckResultEscalate`); `Allowly(api_key=<l1's
credential>)`: `escalations.get_status` (pending, level 1) and `escalations.approve(id, resolved_by="member:l1")`;
l1 again -> `AllowlyAPIError` `escalation_wrong_member`; the runtime key -> `member_credential_required`; l2's
`approve(..., resolved_by="member:l2")` ends it; the receiver's delivery passes `verify_resolution_webhook` naming the
escalation, `approved`, the asking check's receipt and the final resolution's receipt; `get_status` -> approved,
authority available; the re-check of the call is allowed (`escalation_approved`) and the monitor then says consumed.
Any official-client exception (a parse failure is `AllowlyProtocolError`) fails the script.
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import json
import os
import queue
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from allowly import Allowly, AllowlyAPIError, verify_resolution_webhook

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
import devserver  # noqa: E402  (tests/support/devserver.py: the one way to start the dev server)


def step(text: str) -> None:
    print(f"  ok  {text}", flush=True)


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def post(base_url: str, key: str, path: str, body: dict) -> dict:
    """A setup step 0.8.0 has no call for, as plain HTTP."""
    req = urllib.request.Request(
        f"{base_url}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def receiver() -> tuple[HTTPServer, "queue.Queue[tuple[bytes, dict[str, str]]]"]:
    """A webhook receiver on 127.0.0.1 that keeps each request's exact body bytes and headers."""
    got: "queue.Queue[tuple[bytes, dict[str, str]]]" = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["content-length"]))
            got.put((body, {k: v for k, v in self.headers.items()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, got


async def api_error(coro) -> AllowlyAPIError:
    try:
        await coro
    except AllowlyAPIError as e:
        return e
    raise AssertionError("expected an AllowlyAPIError")


async def amain() -> None:
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    env.pop("ALLOWLY_MASTER_KEY", None)
    httpd, got = receiver()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    with devserver.dev_server(env=env) as server:
        info = server.info
        ws, base_url = info["workspace_id"], info["base_url"]
        print(f"official allowly=={md.version('allowly')} against allowly serve --dev at {base_url}")
        credentials = {m: post(base_url, info["setup_api_key"], "/v1/setup/members", {"member_id": m})["credential"]
                       for m in ("l1", "l2")}
        auth = post(base_url, info["runtime_api_key"], "/v1/authorizations", {
            "user_id": "subject:oracle-escalation", "agent_id": "oracle-agent", "scopes": ["payments.send"],
            "requires_escalation_for": ["payments.send"],
            "escalation_targets": {"payments.send": ["member:l1", "member:l2"]}})
        step(f"members l1, l2 and {auth['authorization_id']} escalating payments.send to member:l1 then member:l2")
        base = dict(base_url=base_url, check_timeout_ms=10_000, dangerously_allow_insecure_base_url=True)
        async with Allowly(info["runtime_api_key"], **base) as client, \
                Allowly(info["setup_api_key"], **base) as setup, \
                Allowly(api_key=credentials["l1"], **base) as l1, \
                Allowly(api_key=credentials["l2"], **base) as l2:
            hook = await setup.resolution_webhook.configure(url)

            async def check():
                r = (await client.check(authorization_id=auth["authorization_id"], actions=["payments.send"],
                                        resource="invoice:7")).results["payments.send"]
                expect(not r.is_fallback, f"fell back ({r.reason})")
                return r

            asked = await check()
            expect(asked.decision == "escalate" and asked.reason == "scope_requires_escalation", f"check: {asked}")
            expect(asked.escalation_to == "member:l1" and asked.escalation_id.startswith("esc_"), f"check: {asked}")
            esc = asked.escalation_id
            step(f"check -> escalate {esc} to {asked.escalation_to}")

            status = await l1.escalations.get_status(esc)
            expect(status.status == "pending" and status.authority_status == "none", f"get_status: {status}")
            step("l1: escalations.get_status -> pending, authority none")
            e = await api_error(client.escalations.approve(esc, resolved_by="member:l1"))
            expect((e.status, e.code) == (403, "member_credential_required"), f"runtime key: {e!r}")
            e = await api_error(l2.escalations.approve(esc, resolved_by="member:l2"))
            expect((e.status, e.code) == (403, "escalation_wrong_member"), f"l2 at level 1: {e!r}")
            step("runtime key -> 403 member_credential_required; l2 at level 1 -> 403 escalation_wrong_member")

            one = await l1.escalations.approve(esc, resolved_by="member:l1", note="level one ok")
            expect(one.escalation_id == esc and one.status == "approved" and one.resolved_by == "member:l1",
                   f"approve: {one}")
            expect(one.receipt is not None and one.resolved_at is not None, f"approve: {one}")
            e = await api_error(l1.escalations.approve(esc, resolved_by="member:l1"))
            expect((e.status, e.code) == (403, "escalation_wrong_member"), f"l1 at level 2: {e!r}")
            step("l1: escalations.approve(resolved_by='member:l1') -> approved (level 1); again -> 403")
            still = await check()
            expect(still.decision == "escalate" and still.escalation_id == esc and still.escalation_to == "member:l2",
                   f"re-check: {still}")
            step("re-check while level 2 waits -> the same escalation, now to member:l2")

            two = await l2.escalations.approve(esc, resolved_by="member:l2")
            expect(two.status == "approved" and two.resolved_by == "member:l2", f"approve: {two}")
            step("l2: escalations.approve(resolved_by='member:l2') -> approved")
            body, headers = await asyncio.to_thread(got.get, True, 30)
            event = verify_resolution_webhook(body, headers, signing_secret=hook.signing_secret,
                                              expected_workspace_id=ws)
            expect(event.type == "escalation.resolved" and event.data.prompt_id == esc, f"event: {event}")
            expect(event.data.status == "approved", f"status: {event.data}")
            expect(event.data.source_receipt_id == asked.receipt.receipt_id, f"source: {event.data}")
            expect(event.data.resolution_receipt_id == two.receipt.receipt_id, f"resolution: {event.data}")
            step(f"verify_resolution_webhook accepts {event.id}: {event.type} {event.data.status}")
            expect(got.empty(), "a level-1 approval sent a resolution webhook")

            status = await l2.escalations.get_status(esc)
            expect(status.status == "approved" and status.authority_status == "available", f"status: {status}")
            used = await check()
            expect(used.decision == "allow" and used.reason == "escalation_approved", f"re-check: {used}")
            status = await client.escalations.get_status(esc)
            expect(status.authority_status == "consumed" and status.consumed_at is not None, f"status: {status}")
            step("get_status -> approved/available; re-check -> allow escalation_approved; then consumed")
    httpd.shutdown()


if __name__ == "__main__":
    asyncio.run(amain())
    print("escalations oracle: OK")
