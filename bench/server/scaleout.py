"""Issue 23 item 4: N `allowly serve` processes on one PostgreSQL, and what one check costs that database.

Run by `make bench` (bench/run.py step `scaleout`) as

    ALLOWLY_PG_DURABLE=1 scripts/with-postgres.sh python3 bench/server/scaleout.py --allowly target/release/allowly

with-postgres.sh starts a throwaway cluster; ALLOWLY_PG_DURABLE=1 keeps PostgreSQL's durable defaults (fsync,
synchronous_commit on) and loads pg_stat_statements. Writes bench/results/parts/P9.json:

- `P9_pg_1_process`, `P9_pg_2_processes`: checks/s with wrk (closed loop, 64 connections, 2 generator threads in total)
  against one process, then against two processes sharing the database (two wrk, 32 connections each, at the same
  time), each the median of RUNS runs with min/max, for the two shapes of load: every check on one authorization (its
  row lock serializes them across processes) and checks spread over AUTHS authorizations. The headline figures are the
  spread case; `P9_pg_scaling` is 2 processes ÷ 1. On 2 cores shared by PostgreSQL, both servers and wrk, no speed-up
  is expected: the point is the measured costs below.
- In each figure's detail, per check (counter deltas over the run ÷ checks answered): statements and transactions
  PostgreSQL ran (pg_stat_statements, pg_stat_database), rows inserted/updated/read, WAL bytes and WAL flushes
  (pg_stat_wal), CPU ms of the allowly processes and of PostgreSQL (/proc), and the top statements.
- `P9_pg_round_trip_ms` (pgbench, one client, `SELECT 1` over loopback TCP: the cost of one statement round trip) and
  `P9_pg_commit_ms` (pgbench, one client, one autocommitted receipt-sized INSERT: one durable commit, its fsync), with
  `commits/s` at 32 clients in the detail (PostgreSQL's own group commit).

bench/README "PostgreSQL: more than one process" turns these into the scaling model.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO / "bench" / "server"))
from devserver import DevServer, free_port  # noqa: E402
from parts import fig, machine, parse_wrk, spread  # noqa: E402  (run.sh's figures: one way to read wrk and runs)
PGBENCH_TPS = re.compile(r"tps = ([\d.]+)")
PGBENCH_LAT = re.compile(r"latency average = ([\d.]+) ms")
TICK = os.sysconf("SC_CLK_TCK")


def psql(url: str, sql: str) -> str:
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of each pid (processes that exited meanwhile count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def pg_pids(postmaster: int) -> list[int]:
    """The postmaster and its children (backends, WAL writer, checkpointer …)."""
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    kids.append(int(d.name))
            except OSError:
                pass
    return [postmaster] + kids


def counters(url: str, db: str) -> dict:
    row = psql(url, f"""SELECT d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_updated, d.tup_fetched,
        w.wal_records, w.wal_bytes, w.wal_sync, (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
        WHERE s.dbid = d.datid) FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = '{db}'""")
    names = ["transactions", "rollbacks", "rows_inserted", "rows_updated", "rows_read", "wal_records", "wal_bytes",
             "wal_flushes", "statements"]
    return dict(zip(names, (float(v) for v in row.split("|"))))


def top_statements(url: str, db: str, checks: int) -> list:
    rows = psql(url, f"""SELECT calls, round(mean_exec_time::numeric, 4),
        left(regexp_replace(query, '\\s+', ' ', 'g'), 90)
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{db}'
        ORDER BY calls DESC LIMIT 8""")
    out = []
    for line in rows.splitlines():
        calls, mean, query = line.split("|", 2)
        out.append({"per_check": round(int(calls) / checks, 3), "mean_exec_ms": float(mean), "query": query})
    return out


def post(base: str, key: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def run_wrk(bases: list[str], key: str, auths: list[str], duration: int, connections: int) -> dict:
    """wrk against each base at once (connections and 2 generator threads shared out); summed checks/s."""
    env = dict(os.environ, ALLOWLY_API_KEY=key, ALLOWLY_AUTH_ID=auths[0], ALLOWLY_AUTH_IDS=",".join(auths))
    threads = max(1, 2 // len(bases))
    procs = [subprocess.Popen(["wrk", f"-t{threads}", f"-c{connections // len(bases)}", f"-d{duration}s", "-s",
                               str(REPO / "bench/server/check.lua"), f"{b}/v1/check"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) for b in bases]
    outs = [p.communicate()[0] for p in procs]
    parsed = [parse_wrk(out) for out in outs]
    return {"checks_per_s": sum(p["checks_per_s"] for p in parsed), "p99_ms_max": max(p["p99_ms"] for p in parsed),
            "non_200": sum(p["non_200"] for p in parsed), "per_process": parsed}


def settled(url: str, db: str) -> dict:
    """The counters once they stop moving: a backend publishes its pg_stat_database/pg_stat_wal counts at most once
    a second while busy and about a second after it goes idle (PostgreSQL 15), so a snapshot taken right after a run
    misses the last ones. Polls until the rows written stay the same over three reads a second apart (a backend
    publishes all its counters at once; the idle signer's polls keep moving the transaction count, so that is not
    waited for), at most 15 s."""
    def written(c: dict) -> tuple:
        return c["rows_inserted"], c["rows_updated"]

    last, still = counters(url, db), 0
    for _ in range(15):
        time.sleep(1)
        now = counters(url, db)
        still = still + 1 if written(now) == written(last) else 0
        last = now
        if still == 2:
            break
    return last


def measure_runs(url: str, db: str, postmaster: int, servers: list[DevServer], key: str, auths: list[str],
                 runs: int, duration: int, connections: int) -> list:
    """RUNS wrk runs on one configuration after a warm-up; each run's counter deltas ÷ its checks."""
    bases = [s.info["base_url"] for s in servers]
    run_wrk(bases, key, auths, 2, connections)  # warm-up: pools filled, pages cached
    before = settled(url, db)
    out = []
    for _ in range(runs):
        psql(url, "SELECT pg_stat_statements_reset()")
        cpu_pg0, cpu_srv0 = cpu_seconds(pg_pids(postmaster)), cpu_seconds([s.proc.pid for s in servers])
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        result = run_wrk(bases, key, auths, duration, connections)
        cpu_pg1, cpu_srv1 = cpu_seconds(pg_pids(postmaster)), cpu_seconds([s.proc.pid for s in servers])
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        after = settled(url, db)
        checks = result["checks_per_s"] * duration
        per_check = {k: round((after[k] - before[k]) / checks, 3) for k in before}
        per_check["statements"] = round(after["statements"] / checks, 3)  # reset just before the run
        per_check["server_cpu_ms"] = round((cpu_srv1 - cpu_srv0) * 1000 / checks, 4)
        per_check["postgres_cpu_ms"] = round((cpu_pg1 - cpu_pg0) * 1000 / checks, 4)
        out.append({**result, "per_check": per_check, "top_statements": top_statements(url, db, checks),
                    "load_before": load_before, "load_after": load_after})
        before = after
    return out


def pgbench(url: str, script: str, clients: int, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
                              "-f", f.name, url], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    if out.returncode != 0:
        sys.exit(f"pgbench failed: {out.stderr.strip()}")
    return {"tps": round(float(PGBENCH_TPS.search(out.stdout)[1])),
            "latency_ms": float(PGBENCH_LAT.search(out.stdout)[1])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--allowly", default=str(REPO / "target/release/allowly"))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 3)))
    ap.add_argument("--duration", type=int, default=int(os.environ.get("DURATION", 10)))
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--auths", type=int, default=64, help="authorizations the spread case cycles through")
    ap.add_argument("--out", default=str(REPO / "bench/results/parts"))
    args = ap.parse_args()
    admin = os.environ.get("ALLOWLY_TEST_PG_URL")
    postmaster = int(os.environ.get("ALLOWLY_TEST_PG_PID", "0"))
    if not admin or not postmaster:
        sys.exit("run under scripts/with-postgres.sh (ALLOWLY_TEST_PG_URL, ALLOWLY_TEST_PG_PID)")
    if psql(admin, "SHOW fsync") != "on" or psql(admin, "SHOW synchronous_commit") != "on":
        sys.exit("PostgreSQL runs without durable commits: start it with ALLOWLY_PG_DURABLE=1 scripts/with-postgres.sh")

    server_version = psql(admin, "SHOW server_version")
    db = f"allowly_scaleout_{os.getpid()}"
    psql(admin, f"CREATE DATABASE {db}")
    url = urllib.parse.urlunsplit(urllib.parse.urlsplit(admin)._replace(path="/" + db))
    psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    workdir = tempfile.mkdtemp(prefix="allowly-scaleout-")
    env = dict(os.environ, RUST_LOG="warn", ALLOWLY_RATE_LIMIT_PER_KEY="0", ALLOWLY_RATE_LIMIT_PER_AUTHORIZATION="0",
               ALLOWLY_MASTER_KEY=base64.b64encode(os.urandom(32)).decode())
    init = subprocess.run([args.allowly, "init", "--db", url], env=env, capture_output=True, text=True)
    if init.returncode != 0:
        sys.exit(f"allowly init failed ({init.returncode}): {init.stderr.strip()}")
    key = json.loads(init.stdout)["runtime_api_key"]
    servers = [DevServer(workdir, binary=args.allowly, db_url=url, dev=False, port=free_port(), env=env, name=str(i))
               for i in range(2)]
    raw: dict = {}
    try:
        for s in servers:
            s.start()
        base = servers[0].info["base_url"]
        auths = [post(base, key, "/v1/authorizations", {"user_id": f"bench-user-{i}", "agent_id": "bench-agent",
                                                         "scopes": ["email.read"]})["authorization_id"]
                 for i in range(args.auths)]
        shapes = {"one_authorization": auths[:1], "spread": auths}
        for n in (1, 2):
            for shape, ids in shapes.items():
                rs = measure_runs(url, db, postmaster, servers[:n], key, ids, args.runs, args.duration,
                                  args.connections)
                raw[f"{n}/{shape}"] = [{"run": i + 1, **r} for i, r in enumerate(rs)]
                for i, r in enumerate(rs):
                    print(f"   {n} process(es), {shape}, run {i + 1}: {r['checks_per_s']} checks/s, "
                          f"p99 {r['p99_ms_max']} ms, non-200 {r['non_200']}, per check {r['per_check']}", flush=True)
        # One statement's round trip and one durable commit, measured by PostgreSQL's own client on the same machine.
        psql(url, "CREATE TABLE bench_row (id bigserial PRIMARY KEY, payload text NOT NULL)")
        round_trip = [pgbench(url, "SELECT 1;\n", 1, 5) for _ in range(args.runs)]
        commit = [pgbench(url, "INSERT INTO bench_row (payload) VALUES (repeat('x', 700));\n", 1, 5)
                  for _ in range(args.runs)]
        group = [pgbench(url, "INSERT INTO bench_row (payload) VALUES (repeat('x', 700));\n", 32, 5)
                 for _ in range(args.runs)]
    finally:
        for s in servers:
            s.stop()
        psql(admin, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")

    def rate(key_: str) -> list:
        return [r["checks_per_s"] for r in raw[key_]]

    def per_check(key_: str) -> dict:
        names = raw[key_][0]["per_check"].keys()
        return {k: statistics.median(r["per_check"][k] for r in raw[key_]) for k in names}

    where = {**machine(), "postgres": server_version}
    how = (f"wrk -c{args.connections} -d{args.duration}s (bench/server/check.lua) against 1 process, then split over "
           f"2 processes on one PostgreSQL (fsync on); {args.runs} runs")
    figs = {}
    for n, name in ((1, "P9_pg_1_process"), (2, "P9_pg_2_processes")):
        figs[name] = fig(spread(rate(f"{n}/spread"), 0)["median"], "checks/s", None, None, {
            "how": how + f"; checks cycle over {args.auths} authorizations",
            "checks_per_s": spread(rate(f"{n}/spread"), 0),
            "one_authorization_checks_per_s": spread(rate(f"{n}/one_authorization"), 0),
            "per_check": per_check(f"{n}/spread"),
            "per_check_one_authorization": per_check(f"{n}/one_authorization"),
            "machine": where, "runs": {k: v for k, v in raw.items() if k.startswith(f"{n}/")}})
    scaling = statistics.median(rate("2/spread")) / statistics.median(rate("1/spread"))
    figs["P9_pg_scaling"] = fig(round(scaling, 2), "x (2 processes ÷ 1)", None, None, {
        "why": "2 cores run PostgreSQL, both servers and the load generator: a second process adds no CPU here"})
    figs["P9_pg_round_trip_ms"] = fig(spread([r["latency_ms"] for r in round_trip])["median"], "ms", None, None, {
        "how": "pgbench -n -c1 -T5, script `SELECT 1;` over loopback TCP", "runs": round_trip})
    figs["P9_pg_commit_ms"] = fig(spread([r["latency_ms"] for r in commit])["median"], "ms", None, None, {
        "how": "pgbench -n -c1 -T5, one autocommitted INSERT of a 700-byte row (fsync on)", "runs": commit,
        "commits_per_s_at_32_clients": spread([r["tps"] for r in group], 0), "runs_32_clients": group})
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "P9.json").write_text(json.dumps(figs, indent=2) + "\n")
    print(json.dumps({k: v["value"] for k, v in figs.items()}))


if __name__ == "__main__":
    main()
