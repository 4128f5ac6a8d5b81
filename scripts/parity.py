#!/usr/bin/env python3
"""`make parity`: run the scenario runner of every language with ALLOWLY_PARITY_DIR set, then print a table
scenario × language (pass / fail / skip with its reason). Exits non-zero when a cell failed, a scenario is missing
from a language's results, or a skip has no reason.

Runners: tests/e2e/tests/scenarios.rs, bindings-python/tests/test_scenarios.py, bindings-node/test/scenarios.test.mjs and
bindings-swift/kotlin/src/test/kotlin/ai/allowly/ScenariosTest.kt (through `make test-kotlin`, which builds the native
library and the CLI itself and runs the whole Kotlin suite; surefire's JVM inherits ALLOWLY_PARITY_DIR). The builds the
others need are made by the Makefile target first. Only the standard library is used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p for p in (REPO / "tests" / "scenarios").glob("*.json") if p.name != "schema.json")
CARGO = os.environ.get("CARGO", "cargo")
MAKE = os.environ.get("MAKE", "make")
VENV_PY = REPO / "bindings-python" / ".venv" / "bin" / "python"
RUNNERS = {
    "rust": (REPO, [CARGO, "test", "--locked", "-q", "-p", "allowly-e2e", "--test", "scenarios"]),
    "python": (REPO / "bindings-python", [str(VENV_PY), "-m", "pytest", "-q", "tests/test_scenarios.py"]),
    "node": (REPO / "bindings-node", ["node", "--test", "test/scenarios.test.mjs"]),
    "kotlin": (REPO, [MAKE, "--no-print-directory", "test-kotlin"]),
}


def main() -> int:
    names = [json.loads(p.read_text())["name"] for p in SCENARIOS]
    out = Path(tempfile.mkdtemp(prefix="allowly-parity-"))
    env = {**os.environ, "ALLOWLY_PARITY_DIR": str(out)}
    exit_codes = {}
    for lang, (cwd, cmd) in RUNNERS.items():
        print(f"== {lang}: {' '.join(cmd)}", file=sys.stderr, flush=True)
        exit_codes[lang] = subprocess.run(cmd, cwd=cwd, env=env, stdout=sys.stderr, stderr=sys.stderr).returncode

    table = {}
    for lang in RUNNERS:
        path = out / f"{lang}.json"
        results = json.loads(path.read_text())["results"] if path.exists() else {}
        why = f"runner exited {exit_codes[lang]} without a result"
        table[lang] = {n: results.get(n, {"status": "fail", "reason": why}) for n in names}

    reasons: list = []
    bad = 0

    def cell(r: dict) -> str:
        nonlocal bad
        if r["status"] == "pass":
            return "pass"
        if r["status"] == "skip" and r.get("reason"):
            if r["reason"] not in reasons:
                reasons.append(r["reason"])
            return f"skip [{reasons.index(r['reason']) + 1}]"
        bad += 1
        return "FAIL" if r["status"] == "fail" else "skip (no reason!)"

    langs = list(table)
    rows = [[n] + [cell(table[lang][n]) for lang in langs] for n in names]
    header = ["scenario"] + langs
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda cols: "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths)) + " |"  # noqa: E731
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    totals = {lang: sum(table[lang][n]["status"] == "pass" for n in names) for lang in langs}
    print(f"\n{len(names)} scenarios; passed: " + ", ".join(f"{lang} {totals[lang]}" for lang in langs))
    for i, reason in enumerate(reasons, 1):
        print(f"[{i}] {reason}")
    for lang in langs:
        for n in names:
            if table[lang][n]["status"] == "fail":
                print(f"FAIL {lang} {n}: {table[lang][n].get('reason', '')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
