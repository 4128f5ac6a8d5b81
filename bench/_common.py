"""Helpers every benchmark script shares (stdlib only, so it runs in either venv and under the system python).

The official Python client and ours are both imported as `allowly`, so each side runs in its own venv and process;
this module is the part they have in common: starting the real `allowly serve --dev`, the machine record, and the
statistics every figure is reported with.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

REPO = Path(__file__).resolve().parents[1]


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def allowly_binary() -> Path:
    """The release CLI (`make bench` builds it); ALLOWLY_BIN overrides."""
    if os.environ.get("ALLOWLY_BIN"):
        return Path(os.environ["ALLOWLY_BIN"])
    return target_dir() / "release" / "allowly"


@contextmanager
def dev_server(work: Path | None = None) -> Iterator[Dict[str, str]]:
    """`allowly serve --dev` on a fresh SQLite file and a free loopback port; yields its ready file (base_url,
    workspace_id, runtime_api_key, setup_api_key). Keys stay in memory: nothing here prints them."""
    binary = allowly_binary()
    if not binary.exists():
        sys.exit(f"{binary} does not exist: cargo build --release -p allowly-cli --bin allowly")
    with tempfile.TemporaryDirectory(prefix="allowly-bench-") as tmp:
        base = Path(work or tmp)
        ready = base / "ready.json"
        if ready.exists():
            ready.unlink()
        log = open(base / "server.log", "wb")
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        env.pop("ALLOWLY_MASTER_KEY", None)
        proc = subprocess.Popen(
            [str(binary), "serve", "--dev", "--db", f"sqlite://{base / 'bench.db'}", "--listen", "127.0.0.1:0",
             "--ready-file", str(ready)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while not (ready.exists() and ready.stat().st_size > 0):
                if proc.poll() is not None:
                    sys.exit(f"allowly serve exited with {proc.returncode}: {(base / 'server.log').read_text()}")
                if time.monotonic() > deadline:
                    sys.exit("allowly serve wrote no ready file in 60 s")
                time.sleep(0.05)
            time.sleep(0.05)
            info = json.loads(ready.read_text())
            info["pid"] = proc.pid
            yield info
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> Dict[str, object]:
    """Recorded with every figure: the machine is shared, so the load average says how much to trust a number."""
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "loadavg_before": list(os.getloadavg()),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def summary(values: List[float]) -> Dict[str, object]:
    """Median of the runs is the figure; every run is kept."""
    return {"median": statistics.median(values), "runs": values, "min": min(values), "max": max(values)}


def emit(obj: object) -> None:
    """Scripts print one JSON document on their last stdout line; the orchestrator reads that line."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
