"""Turns the raw runs of bench/server/run.sh into bench/results/parts/P5.json, P6.json and P7.json.

Every number written here comes from a run recorded in the raw file (one JSON object per line: kind, side, run, rate,
the measurement's output, the load average before and after it); figures are medians over runs with their min/max,
and every run is kept under "detail" so a reader can see the spread.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys

WRK = re.compile(r"checks/s (\d+)\s+p50 ([\d.]+) ms\s+p99 ([\d.]+) ms\s+non-200 (\d+)\s+socket errors (\d+)")
SIDES = ("ours", "floor")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def parse_wrk(out):
    m = WRK.search(out)
    if not m:
        sys.exit(f"unparsable wrk output: {out!r}")
    return {"checks_per_s": int(m[1]), "p50_ms": float(m[2]), "p99_ms": float(m[3]),
            "non_200": int(m[4]), "socket_errors": int(m[5])}


def runs(raw, kind, side="ours", rate=None):
    """Each matching measurement's parsed output, with its run number and load averages attached."""
    found = []
    for r in raw:
        if r["kind"] != kind or r["side"] != side or (rate is not None and r["rate"] != str(rate)):
            continue
        out = parse_wrk(r["out"]) if kind.startswith("wrk") else json.loads(r["out"])
        found.append({"run": int(r["run"]), **out, "load_before": r["load_before"], "load_after": r["load_after"]})
    return found


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)
    return {"nproc": nproc, "cpu_model": model}


def spread(values, digits=3):
    """Median with min/max of the runs that produced a value; None when none did."""
    values = [v for v in values if v is not None and v == v]  # drops NaN (a run with no 200 answer)
    if not values:
        return None
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "runs": [round(v, digits) for v in values]}


def med(values, digits=3):
    s = spread(values, digits)
    return s["median"] if s else None


def fig(value, unit, target, met, detail):
    return {"value": value, "unit": unit, "target": target, "met": met, "detail": detail}


def backend():
    """What the servers stored into: run.sh passes ALLOWLY_BENCH_DB through (default a SQLite file)."""
    url = os.environ.get("ALLOWLY_BENCH_DB", "")
    return "PostgreSQL" if url.startswith(("postgres://", "postgresql://")) else "SQLite file"


def latency_at(raw, side, rate):
    """p50/p99/p99.9 (ms, of the 200 answers) at one offered rate: median and spread over runs, and the runs."""
    rs = runs(raw, "rate", side, rate)
    return {
        "p50_ms": spread([r["latency"]["p50_ms"] for r in rs]),
        "p99_ms": spread([r["latency"]["p99_ms"] for r in rs]),
        "p999_ms": spread([r["latency"]["p999_ms"] for r in rs]),
        "achieved_per_s": spread([r["achieved_per_s"] for r in rs], 0),
        "non_200": sum(r["non_200"] for r in rs), "transport_errors": sum(r["transport_errors"] for r in rs),
        "runs": rs,
    }


def write(raw, out, a):
    m = machine()
    rates = sorted({int(r["rate"]) for r in raw if r["kind"] == "rate"})
    wrk = {s: runs(raw, "wrk", s) for s in SIDES}
    sat = {s: spread([r["checks_per_s"] for r in wrk[s]], 0) for s in SIDES}
    wrk_errors = {s: sum(r["non_200"] + r["socket_errors"] for r in wrk[s]) for s in SIDES}
    at = {s: {str(rate): latency_at(raw, s, rate) for rate in rates} for s in SIDES}
    # Ours and the floor run back to back in each run, so each run's ratio compares them under the same load.
    by_run = {r["run"]: r["checks_per_s"] for r in wrk["floor"]}
    ratios = [r["checks_per_s"] / by_run[r["run"]] for r in wrk["ours"] if by_run.get(r["run"])]
    p99_ratio = {}
    for rate in rates:
        o, f = at["ours"][str(rate)]["p99_ms"], at["floor"][str(rate)]["p99_ms"]
        p99_ratio[str(rate)] = round(o["median"] / f["median"], 3) if o and f and f["median"] else None
    common = {**m, "setup": f"{backend()}, loopback, one authorization, one scope (email.read); each side freshly "
                            "started per run, ours then the floor; load generators on the same machine"}
    open_loop = {"method": "open loop: checks start on a fixed schedule whatever earlier ones do; latency from each "
                           "scheduled start, percentiles of the 200 answers",
                 "command": f"server/examples/check_to_signed.rs rate RATE {a.duration}"}
    ours_sat = sat["ours"]["median"] if sat["ours"] else None
    p5 = {
        "P5": fig(ours_sat, "checks/s", "≥ 10000",
                  wrk_errors["ours"] == 0 and ours_sat is not None and ours_sat >= 10000, {
                      **common, "command": a.wrk, "what": "allowly serve --dev (release) at saturation (wrk)",
                      "checks_per_s": sat["ours"], "runs": wrk["ours"], "errors": wrk_errors["ours"],
                      "latency_at_rate": at["ours"], **open_loop}),
        "P5_floor": fig(med(ratios), "x (ours ÷ floor checks/s)", "≥ 0.5",
                        bool(ratios) and med(ratios) >= 0.5 and wrk_errors["floor"] == 0, {
                            **common, "command": a.wrk,
                            "what": "ours ÷ floor checks/s at saturation, per run (each run measures both back to "
                                    "back); the floor is bench/floor (allowly-floor): parse, hashed-key HashMap, one "
                                    "Ed25519 signature, one row through our commit path",
                            "floor_code_lines": int(a.floor_lines),
                            "ratio": spread(ratios), "floor_checks_per_s": sat["floor"],
                            "ours_checks_per_s": sat["ours"], "floor_runs": wrk["floor"],
                            "floor_errors": wrk_errors["floor"], "floor_latency_at_rate": at["floor"],
                            "p99_ours_over_floor_at_rate": p99_ratio, **open_loop}),
    }
    if "5000" in at["ours"]:
        r5 = at["ours"]["5000"]
        v = r5["p99_ms"]["median"] if r5["p99_ms"] else None
        p5["P5_p99_at_5000"] = fig(v, "ms", "≤ 2", r5["non_200"] + r5["transport_errors"] == 0 and v is not None
                                   and v <= 2, {**common, **open_loop, "at_5000": r5,
                                                "floor_at_5000": at["floor"].get("5000")})
    for rate in rates:
        for s in SIDES:
            p = at[s][str(rate)]
            key = f"P5_{'floor_' if s == 'floor' else ''}p99_at_{rate}"
            if key == "P5_p99_at_5000":
                continue
            p5[key] = fig(p["p99_ms"]["median"] if p["p99_ms"] else None, "ms", None, None, {"see": "P5"
                          if s == "ours" else "P5_floor", "p50_ms": p["p50_ms"], "p999_ms": p["p999_ms"]})
    over = runs(raw, "overload")
    over_p99 = med([r["latency"]["p99_ms"] for r in over])
    pinned = runs(raw, "wrk_pinned")
    how = (f"ours ({a.overload or 'pinned to core 0'}), the generators on core 1, open loop at 2x the saturation "
           "rate wrk measured so just before (`pinned_saturation_per_s`)" if pinned
           else "ours, open loop at 2x that run's wrk saturation rate")
    p5["P5_overload_p99"] = fig(over_p99, "ms", None, None, {
        **common, **open_loop, "what": how + ": p99 of the 200 answers and the share of 503 answers (load shed)",
        "pinned_saturation_per_s": spread([r["checks_per_s"] for r in pinned], 0) if pinned else None,
        "admitted_per_s": spread([r["ok"] / r["finished_for_s"] for r in over], 0),
        "p99_ms": spread([r["latency"]["p99_ms"] for r in over]),
        "p50_ms": spread([r["latency"]["p50_ms"] for r in over]),
        "share_503": spread([r["share_503"] for r in over]),
        "offered_per_s": spread([r["offered_per_s"] for r in over], 0),
        "achieved_per_s": spread([r["achieved_per_s"] for r in over], 0), "runs": over})
    p6_runs = runs(raw, "signed")
    fetch = runs(raw, "fetch")
    p6_errors = sum(r["errors"] for r in p6_runs + fetch)
    p99 = med([r["check_to_signed"]["p99_ms"] for r in p6_runs])
    p6 = {
        "P6": fig(p99, "ms", "≤ 5 (p99)", p6_errors == 0 and p99 is not None and p99 <= 5, {
            **m, "command": f"server/examples/check_to_signed.rs {a.p6.split(' ', 1)[1]}",
            "p50_ms": spread([r["check_to_signed"]["p50_ms"] for r in p6_runs]),
            "p99_ms": spread([r["check_to_signed"]["p99_ms"] for r in p6_runs]),
            "method": "open loop: POST /v1/check, then GET /v1/receipts/{id}?wait_ms=10000 until signed; "
                      "time from the check's scheduled start",
            "runs": p6_runs, "errors": p6_errors,
        }),
        "P6_check_to_signed_p50": fig(med([r["check_to_signed"]["p50_ms"] for r in p6_runs]), "ms", None, None,
                                      {"see": "P6"}),
        "P6_fetch_signed_p50": fig(med([r["fetch_signed_return"]["p50_ms"] for r in fetch]), "ms", None, None, {
            **m, "command": f"server/examples/check_to_signed.rs {a.fetch.split(' ', 1)[1]}",
            "method": "allowly-core Client::check, then Client::fetch_signed on its receipt; time from check's "
                      "return to fetch_signed's return", "runs": fetch,
        }),
        "P6_fetch_signed_p99": fig(med([r["fetch_signed_return"]["p99_ms"] for r in fetch]), "ms", None, None,
                                   {"see": "P6_fetch_signed_p50"}),
    }
    p7_runs = runs(raw, "p7")
    added50 = med([r["added_p50_ms"] for r in p7_runs])
    p7 = {
        "P7": fig(added50, "ms", "≤ 1 (p50)", added50 is not None and added50 <= 1, {
            **m, "command": "ALLOWLY_BENCH_JSON=… cargo test --release --locked -p allowly-e2e --test mcp_latency "
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
            print(f"{k:<24} {v['value']!s:>10} {v['unit']}{target}{met}")
    f = p5["P5_floor"]["detail"]
    print(f"floor checks/s {f['floor_checks_per_s']}; ours {f['ours_checks_per_s']}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["last-wrk", "write"])
    p.add_argument("raw")
    p.add_argument("out", nargs="?")
    p.add_argument("kind", nargs="?")
    for opt in ("--wrk", "--runs", "--duration", "--p6", "--fetch", "--floor-lines", "--overload"):
        p.add_argument(opt)
    a = p.parse_args()
    raw = load(a.raw)
    if a.cmd == "last-wrk":
        # `out` is the side here: that side's most recent saturation rate (the overload run offers twice it), of
        # `kind` (wrk, or wrk_pinned: the server on one core).
        print(runs(raw, a.kind or "wrk", a.out or "ours")[-1]["checks_per_s"])
    else:
        write(raw, a.out, a)


if __name__ == "__main__":
    main()
