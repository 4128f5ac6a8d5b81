"""Fixtures shared by the Python suite: a real `allowly serve --dev` on a throwaway SQLite file (never a mock for
end-to-end behaviour), the paths of the shared conformance vectors, and small local sockets for failure modes the
real server cannot be made to produce on demand (a silent peer, a 403/429 answer)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

import allowly

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = REPO / "tests" / "conformance"
READY_TIMEOUT = float(os.environ.get("ALLOWLY_TEST_READY_TIMEOUT", "60"))


def allowly_binary() -> Path:
    """The CLI built by cargo (`make test-python` builds it first); ALLOWLY_BIN overrides."""
    if os.environ.get("ALLOWLY_BIN"):
        return Path(os.environ["ALLOWLY_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "allowly"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    """`allowly serve --dev` on a free port; yields its ready file (base_url, workspace_id, runtime_api_key, …)."""
    binary = allowly_binary()
    if not binary.exists():
        pytest.fail(f"{binary} does not exist: build it with `cargo build -p allowly-cli --bin allowly`")
    work = tmp_path_factory.mktemp("allowly-serve")
    ready = work / "ready.json"
    log = open(work / "server.log", "wb")
    proc = subprocess.Popen(
        [str(binary), "serve", "--dev", "--db", f"sqlite://{work / 'test.db'}", "--listen", "127.0.0.1:0",
         "--ready-file", str(ready)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not (ready.exists() and ready.stat().st_size > 0):
            if proc.poll() is not None:
                pytest.fail(f"allowly serve exited with {proc.returncode}: {(work / 'server.log').read_text()}")
            if time.monotonic() > deadline:
                pytest.fail("allowly serve wrote no ready file in time")
            time.sleep(0.05)
        time.sleep(0.05)  # the ready file is written in one go, but give a torn read no chance
        yield json.loads(ready.read_text())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


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
