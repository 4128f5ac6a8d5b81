"""Fixtures shared by the Python suite: a real `allowly serve --dev` on a throwaway SQLite file (never a mock for
end-to-end behaviour), the paths of the shared conformance vectors, and small local sockets for failure modes the
real server cannot be made to produce on demand (a silent peer, a 403/429 answer)."""

from __future__ import annotations

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

import allowly

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = REPO / "tests" / "conformance"
sys.path.insert(0, str(REPO / "tests" / "support"))
from devserver import DevServer, DevServerError, allowly_binary  # noqa: E402  (tests/support/devserver.py)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    """`allowly serve --dev` on a free port (tests/support/devserver.py); yields its ready file (base_url,
    workspace_id, runtime_api_key, …). `make test-python` builds the binary first; ALLOWLY_BIN overrides it."""
    dev = DevServer(tmp_path_factory.mktemp("allowly-serve"), binary=allowly_binary())
    try:
        info = dev.start()
    except DevServerError as e:
        dev.stop()
        pytest.fail(str(e))
    try:
        yield info
    finally:
        dev.stop(timeout=10)


def client_kwargs(server: Dict[str, str]) -> Dict[str, object]:
    return {"api_key": server["runtime_api_key"], "base_url": server["base_url"], "allow_insecure_http": True}


@pytest.fixture
async def client(server: Dict[str, str]) -> "allowly.Allowly":
    async with allowly.Allowly(**client_kwargs(server)) as c:
        yield c


@pytest.fixture
def sync_client(server: Dict[str, str]) -> Iterator["allowly.SyncAllowly"]:
    with allowly.SyncAllowly(**client_kwargs(server)) as c:
        yield c


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_peer() -> Iterator[str]:
    """A server that accepts connections and never answers: what a hung upstream looks like."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def canned_server() -> Iterator[Tuple[str, List[Tuple[int, Dict[str, str], dict]]]]:
    """An HTTP server answering every request with the next canned (status, headers, body) — for the 403 and 429
    answers the dev server has no route to produce for a runtime key."""
    answers: List[Tuple[int, Dict[str, str], dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, headers, body = answers.pop(0) if answers else (500, {}, {})
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", answers
    httpd.shutdown()
    httpd.server_close()
