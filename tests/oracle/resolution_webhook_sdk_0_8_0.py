"""The official Python SDK `allowly==0.8.0`, unchanged, against our `allowly serve --dev`: its resolution webhook
setup resource manages our endpoint, and its `verify_resolution_webhook` accepts the deliveries our server makes to a
local receiver.

    tests/oracle/.venv-sdk-0.8.0/bin/python tests/oracle/resolution_webhook_sdk_0_8_0.py

Through the official client's public API only: `resolution_webhook.get()` (the empty configuration),
`configure(url)` (a receiver on 127.0.0.1, which `--dev` allows), `rotate()`; then a policy-edition authorization,
`check(email.send)` -> confirm, `confirmations.approve` -> the receiver gets a delivery that
`verify_resolution_webhook(raw_body, headers, signing_secret=<rotated>, expected_workspace_id=...)` accepts, naming the
confirmation, `approved`, the asking check's receipt and the resolution's receipt; a second confirmation rejected
likewise (`rejected`). The same bytes with one byte changed, or verified with the pre-rotation secret or for another
workspace, are refused (`AllowlyProtocolError`); `deliveries()` lists both as delivered; `disable()` turns it off.
Any official-client exception fails the script.
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import os
import queue
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from allowly import Allowly, AllowlyProtocolError, verify_resolution_webhook

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
import devserver  # noqa: E402  (tests/support/devserver.py: the one way to start the dev server)


def step(text: str) -> None:
    print(f"  ok  {text}", flush=True)


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


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


def refused(fn) -> bool:
    try:
        fn()
    except AllowlyProtocolError:
        return True
    return False


async def amain() -> None:
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
    env.pop("ALLOWLY_MASTER_KEY", None)
    httpd, got = receiver()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    with devserver.dev_server(env=env) as server:
        info = server.info
        ws = info["workspace_id"]
        edition = info["policy"]
        print(f"official allowly=={md.version('allowly')} against allowly serve --dev at {info['base_url']}")
        base = dict(base_url=info["base_url"], check_timeout_ms=10_000, dangerously_allow_insecure_base_url=True)
        async with Allowly(info["runtime_api_key"], **base) as client, \
                Allowly(info["setup_api_key"], **base) as setup:
            empty = await setup.resolution_webhook.get()
            expect(empty.endpoint_id is None and not empty.enabled and empty.workspace_id == ws, f"get: {empty}")
            step("resolution_webhook.get() -> no endpoint (explicit disabled null configuration)")
            configured = await setup.resolution_webhook.configure(url)
            expect(configured.enabled and configured.credential_version == 1, f"configure: {configured}")
            rotated = await setup.resolution_webhook.rotate()
            expect(rotated.credential_version == 2 and rotated.signing_secret != configured.signing_secret,
                   f"rotate: {rotated}")
            shown = await setup.resolution_webhook.get()
            expect(shown.url == url and shown.endpoint_id == configured.endpoint_id, f"get: {shown}")
            step(f"configure -> {configured.endpoint_id} v1; rotate -> v2 (new whsec_ secret); get")

            auth = await client.authorizations.create(
                user_id="subject:oracle-webhook", policy_id=edition["policy_id"],
                policy_version=edition["policy_version"])
            for approved in (True, False):
                r = (await client.check(authorization_id=auth.authorization_id, actions=["email.send"],
                                        resource=f"thread:{approved}",
                                        context={"recipient_count": 2})).results["email.send"]
                expect(r.decision == "confirm", f"check: {r.decision} {r.reason}")
                resolution = await client.confirmations.approve(r.confirm_nonce, approved=approved)
                body, headers = await asyncio.to_thread(got.get, True, 30)
                event = verify_resolution_webhook(body, headers, signing_secret=rotated.signing_secret,
                                                  expected_workspace_id=ws)
                want = "approved" if approved else "rejected"
                expect(event.type == "confirmation.resolved" and event.data.prompt_id == r.confirmation_id,
                       f"event: {event}")
                expect(event.data.status == want, f"status: {event.data}")
                expect(event.data.source_receipt_id == r.receipt.receipt_id, f"source: {event.data}")
                expect(event.data.resolution_receipt_id == resolution.receipt.receipt_id, f"resolution: {event.data}")
                step(f"approve(approved={approved}) -> verify_resolution_webhook accepts {event.id}: "
                     f"{event.type} {event.data.status}")

            changed = bytearray(body)
            changed[-3] ^= 1
            expect(refused(lambda: verify_resolution_webhook(bytes(changed), headers,
                                                             signing_secret=rotated.signing_secret,
                                                             expected_workspace_id=ws)), "a changed byte verified")
            expect(refused(lambda: verify_resolution_webhook(body, headers, signing_secret=configured.signing_secret,
                                                             expected_workspace_id=ws)), "the old secret verified")
            expect(refused(lambda: verify_resolution_webhook(body, headers, signing_secret=rotated.signing_secret,
                                                             expected_workspace_id="ws_other")), "another workspace")
            step("a changed byte, the pre-rotation secret and another workspace are refused")

            for _ in range(100):
                log = await setup.resolution_webhook.deliveries()
                if len(log.items) == 2 and all(i.status == "delivered" for i in log.items):
                    break
                await asyncio.sleep(0.1)
            expect(len(log.items) == 2 and all(i.status == "delivered" and i.attempts == 1 for i in log.items),
                   f"deliveries: {log}")
            step("deliveries() -> 2 delivered, 1 attempt each")
            off = await setup.resolution_webhook.disable()
            expect(not off.enabled and off.credential_version == 2, f"disable: {off}")
            step("disable() -> enabled False")
    httpd.shutdown()


if __name__ == "__main__":
    asyncio.run(amain())
    print("resolution webhook oracle: OK")
