"""verify_webhook: the shared webhook vectors (tests/conformance/webhooks), the seen-id store in its three forms,
and a delivery made by the real dev server to a local receiver."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Dict, List, Tuple

import pytest

import allowly

from conftest import CONFORMANCE, client_kwargs

DOC: Dict[str, Any] = json.loads((CONFORMANCE / "webhooks" / "vectors.json").read_text())
CASES = {case["name"]: case for case in DOC["cases"]}


def verify(case: Dict[str, Any], seen: Any) -> Dict[str, Any]:
    return allowly.verify_webhook(
        case["body"].encode(), [tuple(h) for h in case["headers"]], DOC["secret"], DOC["workspace_id"],
        tolerance_seconds=DOC["tolerance_seconds"], now=case["now"], seen=seen,
    )


@pytest.mark.parametrize("name", list(CASES))
def test_shared_vector(name: str) -> None:
    case = CASES[name]
    seen = allowly.MemorySeenIds()
    if case["deliver_twice"]:
        verify(case, seen)
    if case["expect"] == "accept":
        event = verify(case, seen)
        body = json.loads(case["body"])
        assert (event["id"], event["type"], event["data"]) == (body["id"], body["type"], body["data"])
        assert event["workspace_id"] == DOC["workspace_id"]
    else:
        with pytest.raises(allowly.WebhookVerificationError) as info:
            verify(case, seen)
        assert info.value.code == case["error"]
        assert info.value.kind == case["error"].removeprefix("webhook_")
        assert DOC["secret"][6:] not in str(info.value)


def test_a_callback_store_sees_each_id_and_its_exceptions_propagate() -> None:
    calls: List[Tuple[str, int]] = []
    store: Dict[str, int] = {}

    def seen(event_id: str, forget_after: int) -> bool:
        calls.append((event_id, forget_after))
        return store.setdefault(event_id, forget_after) == forget_after and len(calls) == 1

    good = CASES["good"]
    verify(good, seen)
    with pytest.raises(allowly.WebhookVerificationError) as info:
        verify(good, seen)
    assert info.value.kind == "replay"
    assert calls[0] == (json.loads(good["body"])["id"], good["now"] + DOC["tolerance_seconds"])

    def broken(event_id: str, forget_after: int) -> bool:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        verify(good, broken)
    with pytest.raises(allowly.ValidationError):
        verify(good, seen=42)


def test_headers_as_a_dict_and_a_bad_secret_is_a_validation_error() -> None:
    good = CASES["good"]
    event = allowly.verify_webhook(
        good["body"].encode(), dict(good["headers"]), DOC["secret"], DOC["workspace_id"], now=good["now"],
        seen=allowly.MemorySeenIds(),
    )
    assert event["type"] == "confirmation.resolved"
    with pytest.raises(allowly.ValidationError):
        allowly.verify_webhook(good["body"].encode(), dict(good["headers"]), "secret", DOC["workspace_id"])


async def test_a_delivery_of_the_dev_server_verifies_once(server: Dict[str, str]) -> None:
    received: "asyncio.Queue[Tuple[bytes, Dict[str, str]]]" = asyncio.Queue()
    loop = asyncio.get_running_loop()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["content-length"]))
            loop.call_soon_threadsafe(received.put_nowait, (body, dict(self.headers.items())))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    try:
        import urllib.request

        request = urllib.request.Request(
            server["base_url"] + "/v1/setup/resolution-webhook", method="PUT",
            data=json.dumps({"url": url}).encode(),
            headers={"authorization": f"Bearer {server['setup_api_key']}", "content-type": "application/json"},
        )
        secret = json.loads(urllib.request.urlopen(request).read())["signing_secret"]
        async with allowly.Allowly(**client_kwargs(server)) as client:
            auth = await client.authorizations.create(
                user_id="u-hook", agent_id="a", scopes=["mail.send"], requires_confirm_for=["mail.send"]
            )
            checked = await client.check(authorization_id=auth.authorization_id, scopes=["mail.send"])
            result = checked.results["mail.send"]
            await client.confirmations.approve(result.confirm_nonce, approved=True)
        body, headers = await asyncio.wait_for(received.get(), 30)
        seen = allowly.MemorySeenIds()
        event = allowly.verify_webhook(body, headers, secret, server["workspace_id"], seen=seen)
        assert event["type"] == "confirmation.resolved"
        assert event["data"]["prompt_id"] == result.confirmation_id
        assert event["data"]["status"] == "approved"
        with pytest.raises(allowly.WebhookVerificationError) as info:
            allowly.verify_webhook(body, headers, secret, server["workspace_id"], seen=seen)
        assert info.value.kind == "replay"
        with pytest.raises(allowly.WebhookVerificationError) as info:
            allowly.verify_webhook(body, headers, secret, "ws_other", seen=allowly.MemorySeenIds())
        assert info.value.kind == "workspace_mismatch"
    finally:
        httpd.shutdown()
        request = urllib.request.Request(
            server["base_url"] + "/v1/setup/resolution-webhook", method="DELETE",
            headers={"authorization": f"Bearer {server['setup_api_key']}"},
        )
        urllib.request.urlopen(request).read()
