"""Helpers every benchmark script shares (stdlib only, so it runs in either venv and under the system python).

The official Python client and ours are both imported as `allowly`, so each side runs in its own venv and process;
this module is the part they have in common: starting the real `allowly serve --dev` (tests/support/devserver.py),
the machine record, and the statistics every figure is reported with.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))
import devserver  # noqa: E402  (tests/support/devserver.py: the one way to start the dev server)


def target_dir() -> Path:
    return devserver.target_dir()


def allowly_binary() -> Path:
    """The release CLI (`make bench` builds it); ALLOWLY_BIN overrides."""
    return devserver.allowly_binary("release")


@contextmanager
def dev_server() -> Iterator[Dict[str, object]]:
    """`allowly serve --dev` (tests/support/devserver.py) on a fresh SQLite file and a free loopback port; yields its
    ready file (base_url, workspace_id, runtime_api_key, setup_api_key) plus the server's pid. Keys stay in memory:
    nothing here prints them."""
    # Throughput runs saturate one key and one authorization on purpose: the server's rate limits are off here, and
    # so is its overload control — 256 checks kept in flight forever is a standing queue to it, and refusals (which
    # the SDKs retry after Retry-After) would measure the gate instead of the clients these runs compare.
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"), ALLOWLY_RATE_LIMIT_PER_KEY="0",
               ALLOWLY_RATE_LIMIT_PER_AUTHORIZATION="0", ALLOWLY_MAX_IN_FLIGHT="0")
    env.pop("ALLOWLY_MASTER_KEY", None)
    try:
        with devserver.dev_server(binary=allowly_binary(), env=env) as server:
            assert server.proc is not None
            yield {**server.info, "pid": server.proc.pid}
    except devserver.DevServerError as e:
        sys.exit(str(e))


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
