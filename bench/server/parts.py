"""Turns the raw runs of bench/server/run.sh into bench/results/parts/P5.json, P6.json and P7.json.

Every number written here comes from a run recorded in the raw file (one JSON object per line); figures are medians
over runs, and every run is kept under "detail" so a reader can see the spread.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

WRK = re.compile(r"checks/s (\d+)\s+p50 ([\d.]+) ms\s+p99 ([\d.]+) ms\s+non-200 (\d+)\s+socket errors (\d+)")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def wrk_runs(raw):
    runs = []
    for r in raw:
        if r.get("figure") == "P5" and r.get("event") == "wrk":
            m = WRK.search(r["line"])
            if not m:
                sys.exit(f"unparsable wrk output: {r['line']!r}")
            runs.append({"checks_per_s": int(m[1]), "p50_ms": float(m[2]), "p99_ms": float(m[3]),
                         "non_200": int(m[4]), "socket_errors": int(m[5])})
    return runs


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)
    return {"nproc": nproc, "cpu_model": model}


def loads(raw, figure):
    return {r["event"]: r["load"] for r in raw if r.get("figure") == figure and "load" in r}


def runs_of(raw, figure, event="run"):
    return [json.loads(r["json"]) for r in raw if r.get("figure") == figure and r.get("event") == event]


def med(values):
    """Median of the runs that produced a value; None when none did (every request of the run failed)."""
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def fig(value, unit, target, met, detail):
    return {"value": value, "unit": unit, "target": target, "met": met, "detail": detail}


def backend():
    """What the server stored into: run.sh passes ALLOWLY_BENCH_DB through (default a SQLite file)."""
    url = os.environ.get("ALLOWLY_BENCH_DB", "")
    return "PostgreSQL" if url.startswith(("postgres://", "postgresql://")) else "SQLite file"


def write(raw, out, a):
    m = machine()
    wrk = wrk_runs(raw)
    errors = sum(r["non_200"] + r["socket_errors"] for r in wrk)
    sat = statistics.median(r["checks_per_s"] for r in wrk)
    half = runs_of(raw, "P5_half")
    half_p99 = med([r["latency"]["p99_ms"] for r in half])
    half_errors = sum(r["errors"] for r in half)
    p5_detail = {
        **m, "load_average": loads(raw, "P5"), "command": a.wrk, "runs": wrk,
        "setup": f"allowly serve --dev (release), {backend()}, one authorization, one scope (email.read); "
                 "wrk on the same machine", "errors": errors,
    }
    p5 = {
        "P5": fig(sat, "checks/s", "≥ 5000", errors == 0 and sat >= 5000, p5_detail),
        "P5_p99_half_rate": fig(half_p99, "ms", "≤ 2", half_errors == 0 and half_p99 is not None and half_p99 <= 2, {
            **m, "load_average": loads(raw, "P5_half"),
            "command": f"server/examples/check_to_signed.rs rate {half[0]['rate'] if half else '?'} {a.duration}",
            "method": "open loop: checks start on a fixed schedule; latency from each scheduled start",
            "runs": half, "errors": half_errors,
        }),
    }
    p6_runs = runs_of(raw, "P6")
    fetch = runs_of(raw, "P6", "fetch")
    p6_errors = sum(r["errors"] for r in p6_runs + fetch)
    p99 = med([r["check_to_signed"]["p99_ms"] for r in p6_runs])
    p6_common = {**m, "load_average": loads(raw, "P6")}
    p6 = {
        "P6": fig(p99, "ms", "≤ 25 (p99)", p6_errors == 0 and p99 is not None and p99 <= 25, {
            **p6_common, "command": f"server/examples/check_to_signed.rs {a.p6.split(' ', 1)[1]}",
            "p50_ms": med([r["check_to_signed"]["p50_ms"] for r in p6_runs]), "p99_ms": p99,
            "method": "open loop: POST /v1/check, then GET /v1/receipts/{id}?wait_ms=10000 until signed; "
                      "time from the check's scheduled start",
            "runs": p6_runs, "errors": p6_errors,
        }),
        "P6_check_to_signed_p50": fig(med([r["check_to_signed"]["p50_ms"] for r in p6_runs]), "ms", None, None,
                                      {"see": "P6"}),
        "P6_fetch_signed_p50": fig(med([r["fetch_signed_return"]["p50_ms"] for r in fetch]), "ms", None, None, {
            **p6_common, "command": f"server/examples/check_to_signed.rs {a.fetch.split(' ', 1)[1]}",
            "method": "allowly-core Client::check, then Client::fetch_signed on its receipt; time from check's "
                      "return to fetch_signed's return", "runs": fetch,
        }),
        "P6_fetch_signed_p99": fig(med([r["fetch_signed_return"]["p99_ms"] for r in fetch]), "ms", None, None,
                                   {"see": "P6_fetch_signed_p50"}),
    }
    p7_runs = runs_of(raw, "P7")
    added50 = med([r["added_p50_ms"] for r in p7_runs])
    p7 = {
        "P7": fig(added50, "ms", "≤ 1 (p50)", added50 <= 1, {
            **m, "load_average": loads(raw, "P7"),
            "command": "ALLOWLY_BENCH_JSON=… cargo test --release --locked -p allowly-e2e --test mcp_latency "
                       "-- --ignored --nocapture",
            "method": "1,000 tools/call (after 100 warm-up) straight to the fixture MCP server vs through "
                      "allowly mcp proxy (one check each against allowly serve --dev); added = proxied − direct",
            "runs": p7_runs,
        }),
        "P7_p99": fig(med([r["added_p99_ms"] for r in p7_runs]), "ms", None, None, {"see": "P7"}),
    }
    for name, doc in [("P5", p5), ("P6", p6), ("P7", p7)]:
        path = os.path.join(out, f"{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
    for doc in (p5, p6, p7):
        for k, v in doc.items():
            met = "" if v["met"] is None else ("  met" if v["met"] else "  MISSED")
            target = f"  (target {v['target']})" if v["target"] else ""
            print(f"{k:<24} {v['value']:>10} {v['unit']}{target}{met}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["median-wrk", "write"])
    p.add_argument("raw")
    p.add_argument("out", nargs="?")
    for opt in ("--wrk", "--runs", "--duration", "--p6", "--fetch"):
        p.add_argument(opt)
    a = p.parse_args()
    raw = load(a.raw)
    if a.cmd == "median-wrk":
        print(int(statistics.median(r["checks_per_s"] for r in wrk_runs(raw))))
    else:
        write(raw, a.out, a)


if __name__ == "__main__":
    main()
