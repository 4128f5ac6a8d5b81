"""Checks from one asyncio process against an already running `allowly serve --dev` (P3 throughput, P4 latency).

    PY bench/checks_py.py ours|official|httpx throughput|latency SERVER_JSON [--in-flight 256] [--total N] [--runs 1]

SERVER_JSON holds base_url, runtime_api_key, authorization_id and scope (written by bench/run.py, mode 0600, so the
key never appears on a command line). `ours` is our wheel (bench/.venv-ours), `official` the official client
allowly==0.3.1 and `httpx` a raw httpx POST of the body our SDK sends (both in bench/.venv). Only answers from the
server count; fallback results (timeouts, unreachable) are reported apart and are not throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from _common import emit, summary


def make_client(impl: str, srv: dict):
    """Returns (async check() -> answered: bool, aclose, description)."""
    auth, scope = srv["authorization_id"], srv["scope"]
    if impl == "ours":
        import allowly

        c = allowly.Allowly(api_key=srv["runtime_api_key"], base_url=srv["base_url"], allow_insecure_http=True,
                            check_timeout=30)

        async def check() -> bool:
            r = await c.check(authorization_id=auth, scopes=[scope])
            return not r.results[scope].is_fallback

        return check, c.aclose, f"allowly {allowly.__version__} (our release wheel): await client.check(...)"
    if impl == "official":
        import importlib.metadata as md

        import allowly

        # The official default check timeout is 1 s, which at 256 in flight turns queueing into fallbacks: 30 s, as ours.
        c = allowly.Allowly(srv["runtime_api_key"], base_url=srv["base_url"], check_timeout_ms=30_000,
                            dangerously_allow_insecure_base_url=True)

        async def check() -> bool:
            r = await c.check(authorization_id=auth, actions=[scope])
            return not r.results[scope].reason.startswith("fallback")

        return check, c.aclose, f"official allowly=={md.version('allowly')} (httpx): await client.check(actions=[...])"
    import httpx

    h = httpx.AsyncClient(base_url=srv["base_url"], headers={"Authorization": f"Bearer {srv['runtime_api_key']}"},
                          timeout=30)
    body = {"authorization_id": auth, "scopes": [scope]}

    async def check() -> bool:
        resp = await h.post("/v1/check", json=body)
        resp.raise_for_status()
        return resp.json()["results"][scope]["decision"] in ("allow", "deny", "confirm")

    return check, h.aclose, f"raw httpx {httpx.__version__} AsyncClient.post('/v1/check', json=body) + .json()"


async def throughput(check, in_flight: int, total: int) -> dict:
    remaining = 0
    answered = fallbacks = 0

    async def worker() -> None:
        nonlocal remaining, answered, fallbacks
        while remaining > 0:
            remaining -= 1
            if await check():
                answered += 1
            else:
                fallbacks += 1

    remaining = in_flight * 2  # warm-up: open the pool's connections, fill the server's caches
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    answered = fallbacks = 0
    remaining = total
    started, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return {"checks_per_second": answered / elapsed, "answered": answered, "fallbacks": fallbacks,
            "seconds": elapsed, "client_cpu_us_per_check": cpu / total * 1e6}


async def latency(check, total: int) -> dict:
    for _ in range(100):
        await check()
    lat = []
    for _ in range(total):
        t = time.perf_counter()
        if not await check():
            raise SystemExit("a sequential check fell back: the server did not answer")
        lat.append(time.perf_counter() - t)
    lat.sort()
    return {"median_ms": statistics.median(lat) * 1000, "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1000,
            "checks": total}


async def amain(args) -> None:
    srv = json.loads(Path(args.server).read_text())
    check, aclose, desc = make_client(args.impl, srv)
    try:
        runs = []
        for _ in range(args.runs):
            if args.mode == "throughput":
                runs.append(await throughput(check, args.in_flight, args.total))
            else:
                runs.append(await latency(check, args.total))
    finally:
        await aclose()
    key = "checks_per_second" if args.mode == "throughput" else "median_ms"
    emit({"impl": args.impl, "mode": args.mode, "client": desc, "in_flight": args.in_flight if args.mode == "throughput" else 1,
          key: summary([r[key] for r in runs]), "runs": runs})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=["ours", "official", "httpx"])
    ap.add_argument("mode", choices=["throughput", "latency"])
    ap.add_argument("server")
    ap.add_argument("--in-flight", type=int, default=256)
    ap.add_argument("--total", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=1)
    asyncio.run(amain(ap.parse_args()))


if __name__ == "__main__":
    main()
