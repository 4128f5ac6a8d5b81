"""The release build exits cleanly: the examples, run as users run them, against the *release* wheel.

The debug build that the rest of this suite uses never showed it, but the release extension crashed at interpreter
exit in about one run in five (exit 134 or 139): a tokio thread took or released the GIL while `Py_FinalizeEx` ran
(bindings-python/src/runtime.rs says how that is prevented now). `make test-python-release` builds the release wheel
into its own virtualenv and points ALLOWLY_RELEASE_PYTHON at that interpreter; without it this file is skipped.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from conftest import REPO

EXAMPLES = REPO / "bindings-python" / "examples"
RELEASE_PYTHON = os.environ.get("ALLOWLY_RELEASE_PYTHON")
RUNS = int(os.environ.get("ALLOWLY_EXIT_RUNS", "50"))

pytestmark = pytest.mark.skipif(
    not RELEASE_PYTHON, reason="needs the release wheel: run `make test-python-release` (ALLOWLY_RELEASE_PYTHON)"
)


def test_examples_exit_zero_every_time_on_the_release_wheel(server: Dict[str, str], tmp_path: Path) -> None:
    python = str(RELEASE_PYTHON)
    probe = subprocess.run(
        [python, "-c", "import allowly._native as n, pathlib; print(pathlib.Path(n.__file__).resolve())"],
        capture_output=True, text=True, check=True,
    )
    native = Path(probe.stdout.strip())
    assert "site-packages" in native.parts, f"{python} does not run an installed wheel: {native}"
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps(server))
    env = dict(os.environ, ALLOWLY_KEY=server["runtime_api_key"], ALLOWLY_BASE_URL=server["base_url"],
               ALLOWLY_PII_PEPPER="exit-test-pepper")
    commands = {
        "quickstart": [python, str(EXAMPLES / "quickstart.py")],
        "walkthrough": [python, str(EXAMPLES / "walkthrough.py"), str(ready)],
    }
    codes: Dict[str, collections.Counter] = {name: collections.Counter() for name in commands}
    for _ in range(RUNS):
        for name, command in commands.items():
            run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
            codes[name][run.returncode] += 1
            if run.returncode != 0:
                print(f"{name} exited {run.returncode}: {run.stderr[-2000:]}")
    print({name: dict(c) for name, c in codes.items()})
    assert RUNS >= 50
    for name, counter in codes.items():
        assert counter == collections.Counter({0: RUNS}), f"{name}: exit codes {dict(counter)} over {RUNS} runs"
