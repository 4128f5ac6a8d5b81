"""Checks per second from one asyncio process with N checks in flight, against a local `allowly serve --dev`.

    make bench-python                       # release builds of the package and the server, then this script
    python bench/python_checks.py [--in-flight 256] [--total 20000]

The server runs on the same machine (ALLOWLY_BIN, else target/release/allowly, else target/debug/allowly), so the
number is client and server sharing the cores — a floor for the client, not a server benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import allowly

REPO = Path(__file__).resolve().parents[1]


def server_binary() -> Path:
    if os.environ.get("ALLOWLY_BIN"):
        return Path(os.environ["ALLOWLY_BIN"])
    for profile in ("release", "debug"):
        candidate = REPO / "target" / profile / "allowly"
        if candidate.exists():
            return candidate
    sys.exit("no allowly binary: cargo build --release -p allowly-cli --bin allowly")


async def bench(ready: dict, in_flight: int, total: int) -> None:
    async with allowly.Allowly(
        api_key=ready["runtime_api_key"], base_url=ready["base_url"], allow_insecure_http=True, check_timeout=30
    ) as client:
        auth = await client.authorizations.create(user_id="bench-user", agent_id="bench", scopes=["bench.read"])
        remaining = total
        latencies: list = []
        decisions: dict = {}

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                result = await client.check(authorization_id=auth.authorization_id, scopes=["bench.read"])
                latencies.append(time.perf_counter() - started)
                d = result.results["bench.read"]
                decisions[(d.decision, d.reason)] = decisions.get((d.decision, d.reason), 0) + 1

        # Warm up the connection pool and the server's caches with one full wave first.
        remaining = in_flight
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        latencies.clear()
        decisions.clear()
        remaining = total
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        latencies.sort()
        pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000  # noqa: E731
        print(f"{total} checks, {in_flight} in flight, one asyncio process: {total / elapsed:,.0f} checks/s "
              f"({elapsed:.2f} s; latency p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms)")
        # The client's own CPU (Python, the tokio threads, the GIL hand-offs), to tell client cost from server cost.
        print(f"client CPU: {cpu:.2f} s = {cpu / total * 1e6:.0f} µs per check; decisions: {decisions}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--total", type=int, default=20000)
    args = parser.parse_args()
    binary = server_binary()
    with tempfile.TemporaryDirectory() as work:
        ready_path = Path(work) / "ready.json"
        server = subprocess.Popen(
            [str(binary), "serve", "--dev", "--db", f"sqlite://{work}/bench.db", "--listen", "127.0.0.1:0",
             "--ready-file", str(ready_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not (ready_path.exists() and ready_path.stat().st_size > 0):
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("allowly serve did not start")
                time.sleep(0.05)
            time.sleep(0.05)
            print(f"server: {binary}; allowly {allowly.__version__} from {Path(allowly.__file__).parent}")
            asyncio.run(bench(json.loads(ready_path.read_text()), args.in_flight, args.total))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
