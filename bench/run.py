"""`make bench`: runs every benchmark, prints the table and writes bench/results/latest.json.

    python3 bench/run.py [--only P1,P1v5,P2,P3,P4,P8,server,scaleout] [--runs N]

`make bench-prep` builds what this needs (release CLI, release wheel in bench/.venv-ours, the official packages in
bench/.venv, the P2 example, the release Node addon). Each figure is written to bench/results/parts/<name>.json by
the step that measured it; bench/server/run.sh (owned by the server benchmarks) writes P5/P6/P7 the same way, and
bench/server/scaleout.py P9 (several processes on one PostgreSQL, under scripts/with-postgres.sh). At
the end every part is merged into latest.json. A step that fails records its figures as "not run: <why>" and the
others still run. Only the standard library is used: the two `allowly` packages live in their own venvs and each
script runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, dev_server, machine, target_dir  # noqa: E402

BENCH = REPO / "bench"
WORK = BENCH / ".work"
PARTS = BENCH / "results" / "parts"
OFFICIAL_PY = BENCH / ".venv" / "bin" / "python"
OURS_PY = BENCH / ".venv-ours" / "bin" / "python"
# allowly-receipt-format 5.0.0 also imports as allowly_receipt_format: a venv of its own (make bench-venvs).
OFFICIAL5_PY = BENCH / ".venv-rf5" / "bin" / "python"
ORDER = ["P1a", "P1b", "P1c", "P1b_wire5", "P2a", "P2b", "P3", "P3n", "P4", "P4n", "P5", "P5_floor", "P5_p99_at_5000", "P5_overload_p99", "P6", "P7", "P8a", "P8b", "P8c", "P9_pg_1_process", "P9_pg_2_processes", "P9_pg_scaling", "P9_pg_round_trip_ms", "P9_pg_commit_ms"]
MINE = {
    "P1": ["P1a", "P1b"], "P1v5": ["P1c", "P1b_wire5"], "P2": ["P2a", "P2b"], "P3": ["P3", "P3n"], "P4": ["P4", "P4n"], "P8": ["P8a", "P8b", "P8c"],
}


class StepFailed(Exception):
    pass


def run_json(cmd: list, env: dict | None = None, timeout: float = 1800) -> tuple[dict, str]:
    """Runs one measurement process; returns its last stdout line as JSON and the command as recorded."""
    shown = " ".join(shlex.quote(str(c)) for c in cmd)
    print(f"  $ {shown}", flush=True)
    p = subprocess.run([str(c) for c in cmd], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
        raise StepFailed(f"`{shown}` exited {p.returncode}: " + " | ".join(tail))
    last = [l for l in p.stdout.strip().splitlines() if l.strip()][-1]
    return json.loads(last), shown


def figure(value, unit: str, target: str | None, met, detail: dict) -> dict:
    return {"value": value, "unit": unit, "target": target, "met": met, "detail": detail}


def ratio_met(value: float, target: str) -> bool:
    op, num = target.split()
    return value >= float(num) if op == "≥" else value <= float(num)


def write_part(name: str, figures: dict) -> None:
    PARTS.mkdir(parents=True, exist_ok=True)
    (PARTS / f"{name}.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n")


def not_run(names: list, why: str) -> dict:
    return {n: figure(None, "", None, None, {"not run": why, "machine": machine()}) for n in names}


# ---------------------------------------------------------------- P1 / P2: receipt verification


def step_p1(runs: int) -> dict:
    data = WORK / "receipts"
    m = machine()
    gen, gen_cmd = run_json([OURS_PY, "bench/gen_receipts.py", data, "--count", "10000"])
    print(f"  receipts: {gen['count']} signed by allowly serve --dev: {gen['by_name']}")
    floor, _ = run_json([OFFICIAL_PY, "bench/verify_py.py", "official", "single", data, "--runs", "1", "--floor-runs", "3"])
    # One run of each side per round, in turn, so load from other processes hits both sides alike.
    r = alternate(runs, {
        "official": [OFFICIAL_PY, "bench/verify_py.py", "official", "single", data, "--runs", "1"],
        "single": [OURS_PY, "bench/verify_py.py", "ours", "single", data, "--runs", "1"],
        "batch": [OURS_PY, "bench/verify_py.py", "ours", "batch", data, "--runs", "1"],
    })

    def med(k: str, what: str = "per_second") -> float:
        return statistics.median(x[what]["median"] for x in r[k]["runs"])

    o = med("official")
    common = {"machine": m, "receipts": gen, "receipts_command": gen_cmd, "official_command": r["official"]["command"],
              "official_per_s": o, "official_runs": [x["per_second"]["median"] for x in r["official"]["runs"]],
              "official_ed25519_only_per_s": floor["ed25519_only_per_s"]["median"],
              "official_package": floor["package"], "official_api": floor["api"]}
    a, b = med("single") / o, med("batch") / o
    return {
        "P1a": figure(round(a, 2), "x", "≥ 5", ratio_met(a, "≥ 5"), {
            **common, "what": "Python verifications/s, one call per receipt: ours ÷ official (median of alternating runs)",
            "ours_per_s": med("single"), "ours_runs": [x["per_second"]["median"] for x in r["single"]["runs"]],
            "ratio_per_cpu_second": med("single", "per_cpu_second") / med("official", "per_cpu_second"),
            "ours_api": r["single"]["runs"][0]["api"], "command": r["single"]["command"]}),
        "P1b": figure(round(b, 2), "x", "≥ 20", ratio_met(b, "≥ 20"), {
            **common, "what": "allowly.verify.verify_batch over the whole export ÷ official per-receipt loop (it has no "
                              "bulk API; its own export verifier runs that loop)",
            "ours_per_s": med("batch"), "ours_runs": [x["per_second"]["median"] for x in r["batch"]["runs"]],
            "ours_api": r["batch"]["runs"][0]["api"], "command": r["batch"]["command"]}),
    }


def step_p1_wire5(runs: int) -> dict:
    """P1c / P1b_wire5: as P1a / P1b on a wire-5 (JWS) set, against the official verifier 5.0.0 (its own venv)."""
    data = WORK / "receipts-v5"
    m = machine()
    gen, gen_cmd = run_json([sys.executable, "bench/gen_receipts_v5.py", data, "--count", "10000"])
    print(f"  wire-5 receipts: {gen['count']} signed with the v5 test keys: {gen['by_name']}")
    floor, _ = run_json([OFFICIAL5_PY, "bench/verify_py.py", "official", "single", data, "--runs", "1", "--floor-runs", "3"])
    r = alternate(runs, {
        "official": [OFFICIAL5_PY, "bench/verify_py.py", "official", "single", data, "--runs", "1"],
        "single": [OURS_PY, "bench/verify_py.py", "ours", "single", data, "--runs", "1"],
        "batch": [OURS_PY, "bench/verify_py.py", "ours", "batch", data, "--runs", "1"],
    })

    def med(k: str, what: str = "per_second") -> float:
        return statistics.median(x[what]["median"] for x in r[k]["runs"])

    o = med("official")
    common = {"machine": m, "receipts": gen, "receipts_command": gen_cmd, "official_command": r["official"]["command"],
              "official_per_s": o, "official_runs": [x["per_second"]["median"] for x in r["official"]["runs"]],
              "official_ed25519_only_per_s": floor["ed25519_only_per_s"]["median"],
              "official_package": floor["package"], "official_api": floor["api"]}
    c, d = med("single") / o, med("batch") / o
    return {
        "P1c": figure(round(c, 2), "x", "≥ 5", ratio_met(c, "≥ 5"), {
            **common, "what": "wire 5 (JWS): Python verifications/s, one call per receipt: ours ÷ official 5.0.0",
            "ours_per_s": med("single"), "ours_runs": [x["per_second"]["median"] for x in r["single"]["runs"]],
            "ratio_per_cpu_second": med("single", "per_cpu_second") / med("official", "per_cpu_second"),
            "ours_api": r["single"]["runs"][0]["api"], "command": r["single"]["command"]}),
        "P1b_wire5": figure(round(d, 2), "x", "≥ 20", ratio_met(d, "≥ 20"), {
            **common, "what": "wire 5 (JWS): allowly.verify.verify_batch over the whole set ÷ official 5.0.0 per-receipt loop",
            "ours_per_s": med("batch"), "ours_runs": [x["per_second"]["median"] for x in r["batch"]["runs"]],
            "ours_api": r["batch"]["runs"][0]["api"], "command": r["batch"]["command"]}),
    }


def step_p2(runs: int) -> dict:
    exe = target_dir() / "release" / "examples" / "verify_rates"
    m = machine()
    data = WORK / "receipts"
    if not (data / "receipts.jsonl").exists():
        raise StepFailed("no receipt set: P1 generates it (run without --only, or with --only P1,P2)")
    r, cmd = run_json([exe, data / "receipts.jsonl", data / "keys.json", str(runs)])
    sj, dk = r["single_json_per_s"]["median"], r["dalek_verify_per_s"]["median"]
    ba = r["batch_all_cores_per_s"]["median"]
    a, b = sj / dk, ba / sj
    detail = {"machine": m, "command": cmd, "result": r}
    return {
        "P2a": figure(round(a, 3), "x", "≥ 0.8", ratio_met(a, "≥ 0.8"), {
            **detail, "what": "verify_receipt_json (strict parse + §7 checks + Ed25519) ÷ bare ed25519-dalek verify of "
                              "the same canonical bytes, one thread",
            "ours_per_s": sj, "dalek_per_s": dk}),
        "P2b": figure(round(b, 3), "x", "≥ 1.5", ratio_met(b, "≥ 1.5"), {
            **detail, "what": "verify_batch_json on all cores ÷ verify_receipt_json on one thread",
            "batch_per_s": ba, "single_per_s": sj,
            "batch_one_thread_over_single": r["batch_one_thread_per_s"]["median"] / sj}),
    }


# ---------------------------------------------------------------- P3 / P4: checks against one dev server


def http_post(url: str, key: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def node_bin() -> str:
    p = subprocess.run(["bash", "scripts/ensure-node.sh"], cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        raise StepFailed("scripts/ensure-node.sh failed: " + p.stderr.strip()[-300:])
    return str(Path(p.stdout.strip().splitlines()[-1]) / "node")


def step_checks(runs: int, which: set) -> dict:
    out: dict = {}
    with dev_server() as info:
        auth = http_post(f"{info['base_url']}/v1/authorizations", info["runtime_api_key"],
                         {"user_id": "bench-user", "agent_id": "bench-agent", "scopes": ["bench.read"]})
        srv = {"base_url": info["base_url"], "runtime_api_key": info["runtime_api_key"],
               "authorization_id": auth["authorization_id"], "scope": "bench.read"}
        WORK.mkdir(parents=True, exist_ok=True)
        srv_file = WORK / "server.json"
        srv_file.touch(mode=0o600)
        srv_file.write_text(json.dumps(srv))
        server_desc = {"server": f"{target_dir() / 'release' / 'allowly'} serve --dev (SQLite, loopback, same machine)",
                       "authorization": "one authorization, one scope, every check allowed"}
        if "P3" in which:
            out.update(checks_p3(runs, srv_file, server_desc))
        if "P4" in which:
            out.update(checks_p4(runs, srv_file, server_desc))
    return out


def alternate(runs: int, cmds: dict) -> dict:
    """Runs each command once per round, in turn, so drifting load from other processes hits every side alike."""
    got: dict = {k: [] for k in cmds}
    shown: dict = {}
    for _ in range(runs):
        for k, cmd in cmds.items():
            r, shown[k] = run_json(cmd)
            got[k].append(r)
    return {k: {"runs": v, "command": shown[k]} for k, v in got.items()}


def checks_p3(runs: int, srv_file: Path, server_desc: dict) -> dict:
    out = {}
    m = machine()
    try:
        r = alternate(runs, {
            "ours": [OURS_PY, "bench/checks_py.py", "ours", "throughput", srv_file, "--in-flight", "256", "--total", "3000"],
            "official": [OFFICIAL_PY, "bench/checks_py.py", "official", "throughput", srv_file, "--in-flight", "256",
                         "--total", "3000"],
        })
        rate = {k: statistics.median(x["checks_per_second"]["median"] for x in v["runs"]) for k, v in r.items()}
        v = rate["ours"] / rate["official"]
        out["P3"] = figure(round(v, 2), "x", "≥ 3", ratio_met(v, "≥ 3"), {
            "machine": m, **server_desc, "what": "checks/s, one asyncio process, 256 in flight: ours ÷ official allowly "
                                                 "0.3.1 (median of alternating runs)",
            "ours_per_s": rate["ours"], "official_per_s": rate["official"], "command": r["ours"]["command"],
            "official_command": r["official"]["command"], "runs": r})
    except StepFailed as e:
        out.update(not_run(["P3"], str(e)))
    try:
        node = node_bin()
        m = machine()
        r = alternate(runs, {"sdk": [node, "bench/node_rates.mjs", "sdk", "throughput", srv_file, "256", "3000"]})
        rate = statistics.median(x["checks_per_second"] for x in r["sdk"]["runs"])
        out["P3n"] = figure(round(rate), "checks/s", None, None, {
            "machine": m, **server_desc, "what": "Node openallowly checks/s, 256 in flight (no target: recorded)",
            "command": r["sdk"]["command"], "runs": r["sdk"]["runs"]})
    except StepFailed as e:
        out.update(not_run(["P3n"], str(e)))
    return out


def checks_p4(runs: int, srv_file: Path, server_desc: dict) -> dict:
    out = {}
    m = machine()
    try:
        r = alternate(runs, {
            "ours": [OURS_PY, "bench/checks_py.py", "ours", "latency", srv_file, "--total", "1000"],
            "httpx": [OFFICIAL_PY, "bench/checks_py.py", "httpx", "latency", srv_file, "--total", "1000"],
        })
        lat = {k: statistics.median(x["median_ms"]["median"] for x in v["runs"]) for k, v in r.items()}
        v = lat["ours"] / lat["httpx"]
        out["P4"] = figure(round(v, 3), "x", "≤ 1.1", ratio_met(v, "≤ 1.1"), {
            "machine": m, **server_desc, "what": "median sequential check latency: our Python SDK ÷ raw httpx POST of "
                                                 "the same body",
            "ours_ms": lat["ours"], "httpx_ms": lat["httpx"], "command": r["ours"]["command"],
            "httpx_command": r["httpx"]["command"], "runs": r})
    except StepFailed as e:
        out.update(not_run(["P4"], str(e)))
    try:
        node = node_bin()
        m = machine()
        r = alternate(runs, {
            "sdk": [node, "bench/node_rates.mjs", "sdk", "latency", srv_file, "1", "1000"],
            "fetch": [node, "bench/node_rates.mjs", "fetch", "latency", srv_file, "1", "1000"],
        })
        lat = {k: statistics.median(x["median_ms"] for x in v["runs"]) for k, v in r.items()}
        v = lat["sdk"] / lat["fetch"]
        out["P4n"] = figure(round(v, 3), "x", "≤ 1.1", ratio_met(v, "≤ 1.1"), {
            "machine": m, **server_desc, "what": "median sequential check latency: Node SDK ÷ raw fetch POST",
            "sdk_ms": lat["sdk"], "fetch_ms": lat["fetch"], "command": r["sdk"]["command"],
            "fetch_command": r["fetch"]["command"], "runs": r})
    except StepFailed as e:
        out.update(not_run(["P4n"], str(e)))
    return out


# ---------------------------------------------------------------- P8: sizes and import time


def step_p8(runs: int) -> dict:
    out = {}
    m = machine()
    wheels = sorted((WORK / "wheels").glob("openallowly-*.whl"), key=lambda p: p.stat().st_mtime)
    if wheels:
        w = wheels[-1]
        out["P8a"] = figure(round(w.stat().st_size / 1e6, 2), "MB", None, None, {
            "machine": m, "what": "release wheel size", "file": w.name, "bytes": w.stat().st_size,
            "command": "maturin build --release --locked -m bindings-python/Cargo.toml -o bench/.work/wheels"})
    else:
        out.update(not_run(["P8a"], "no wheel in bench/.work/wheels (make bench-prep builds it)"))
    try:
        cmd = [str(OURS_PY), "-X", "importtime", "-c", "import allowly"]
        cum, wall = [], []
        for i in range(max(10, runs * 2) + 1):
            t = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
            elapsed = time.perf_counter() - t
            if p.returncode != 0:
                raise StepFailed(p.stderr[-300:])
            line = [l for l in p.stderr.splitlines() if re.search(r"\|\s*allowly$", l)]
            if i == 0:
                continue  # the first run compiles .pyc files
            cum.append(int(line[-1].split("|")[1]) / 1000)
            wall.append(elapsed * 1000)
        out["P8b"] = figure(round(statistics.median(cum), 1), "ms", None, None, {
            "machine": m, "what": "`import allowly` cumulative time from python -X importtime (median); wall = whole "
                                  "interpreter start + import", "command": " ".join(cmd),
            "runs_ms": cum, "wall_ms": {"median": statistics.median(wall), "runs": wall}})
    except (StepFailed, IndexError, ValueError) as e:
        out.update(not_run(["P8b"], f"import timing failed: {e}"))
    nodes = sorted((REPO / "bindings-node" / "native").glob("*.node"))
    if nodes:
        n = nodes[-1]
        out["P8c"] = figure(round(n.stat().st_size / 1e6, 2), "MB", None, None, {
            "machine": m, "what": "release .node addon size", "file": n.name, "bytes": n.stat().st_size,
            "command": "cd bindings-node && npm run build:release"})
    else:
        out.update(not_run(["P8c"], "no .node in bindings-node/native (npm run build:release)"))
    return out


# ---------------------------------------------------------------- server figures, merge, table


def step_server() -> None:
    script = BENCH / "server" / "run.sh"
    names = ["P5", "P6", "P7"]
    if not script.exists():
        for n in names:
            write_part(n, not_run([n], "bench/server/run.sh does not exist"))
        return
    print("  $ bash bench/server/run.sh", flush=True)
    p = subprocess.run(["bash", str(script)], cwd=REPO)
    if p.returncode != 0:
        for n in names:
            if not (PARTS / f"{n}.json").exists():
                write_part(n, not_run([n], f"bench/server/run.sh exited {p.returncode}"))


def step_scaleout() -> None:
    """P9: one and two server processes on one durable PostgreSQL (issue 23 item 4)."""
    cmd = ["scripts/with-postgres.sh", sys.executable, "bench/server/scaleout.py",
           "--allowly", str(target_dir() / "release" / "allowly")]
    print(f"  $ ALLOWLY_PG_DURABLE=1 {shlex.join(cmd)}", flush=True)
    p = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, ALLOWLY_PG_DURABLE="1"))
    if p.returncode != 0:
        write_part("P9", not_run(["P9_pg_1_process", "P9_pg_2_processes"], f"bench/server/scaleout.py exited {p.returncode}"))


def load_parts() -> dict:
    merged: dict = {}
    for f in sorted(PARTS.glob("*.json")):
        try:
            doc = json.loads(f.read_text())
        except ValueError as e:
            merged[f.stem] = figure(None, "", None, None, {"not run": f"{f.name} is not JSON: {e}"})
            continue
        # A part is either one figure (named by its file) or a map of figure name -> figure.
        if isinstance(doc, dict) and "value" in doc:
            merged[f.stem] = doc
        elif isinstance(doc, dict):
            merged.update(doc)
    return merged


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def table(figs: dict) -> str:
    keys = sorted(figs, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))
    rows = [("figure", "value", "unit", "target", "met")]
    for k in keys:
        f = figs[k]
        met = {True: "met", False: "MISSED", None: "-"}[f.get("met")]
        if f.get("value") is None and "not run" in f.get("detail", {}):
            met = "not run: " + str(f["detail"]["not run"])[:90]
        rows.append((k, fmt(f.get("value")), f.get("unit") or "", f.get("target") or "", met))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:<{w[2]}}  {r[3]:<{w[3]}}  {r[4]}" for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="P1,P1v5,P2,P3,P4,P8,server,scaleout")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    only = set(args.only.split(","))
    print(f"machine: {json.dumps(machine())}", flush=True)
    for prog in (OFFICIAL_PY, OURS_PY):
        if not prog.exists():
            sys.exit(f"{prog} is missing: run `make bench-prep` (or `make bench`)")
    steps = [("P1", lambda: step_p1(args.runs)), ("P1v5", lambda: step_p1_wire5(args.runs)),
             ("P2", lambda: step_p2(args.runs)),
             ("P3", None), ("P4", None), ("P8", lambda: step_p8(args.runs))]
    for name, fn in steps:
        if name not in only:
            continue
        if name in ("P3", "P4"):
            if name == "P4" and "P3" in only:
                continue  # one server run covers both
            fn = lambda: step_checks(max(3, args.runs // 2), only & {"P3", "P4"})  # noqa: E731
            names = MINE["P3"] * ("P3" in only) + MINE["P4"] * ("P4" in only)
        else:
            names = MINE[name]
        print(f"== {name}", flush=True)
        try:
            figs = fn()
        except (StepFailed, subprocess.TimeoutExpired, SystemExit, OSError, KeyError, ValueError) as e:
            figs = not_run(names, str(e))
        for n in names:
            write_part(n, {n: figs.get(n) or not_run([n], "step produced no figure")[n]})
    if "server" in only:
        print("== P5-P7 (bench/server/run.sh)", flush=True)
        step_server()
    if "scaleout" in only:
        print("== P9 (bench/server/scaleout.py: PostgreSQL, 1 and 2 processes)", flush=True)
        step_scaleout()
    figs = load_parts()
    (BENCH / "results").mkdir(parents=True, exist_ok=True)
    (BENCH / "results" / "latest.json").write_text(json.dumps(figs, indent=1, ensure_ascii=False) + "\n")
    print(table(figs))
    print(f"wrote {BENCH / 'results' / 'latest.json'}")


if __name__ == "__main__":
    main()
