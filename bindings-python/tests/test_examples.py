"""The demo walkthrough and the README quick start are tested code: both run here against the real dev server."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

from conftest import REPO

EXAMPLES = REPO / "bindings-python" / "examples"
sys.path.insert(0, str(EXAMPLES))

import policy_edition  # noqa: E402
import walkthrough  # noqa: E402


async def test_demo_walkthrough(server: Dict[str, str], tmp_path: Path) -> None:
    out = io.StringIO()
    problems = await walkthrough.Walk(server, out=out).run(tmp_path)
    assert problems == [], out.getvalue()
    text = out.getvalue()
    assert "11 signed receipts verified offline" in text and "signature_mismatch" in text
    assert server["runtime_api_key"] not in text
    assert {p.name for p in tmp_path.iterdir()} == {"keys.json", "receipts.jsonl", "tampered.json"}
    assert len((tmp_path / "receipts.jsonl").read_text().splitlines()) == 11


async def test_demo_policy_edition(server: Dict[str, str], tmp_path: Path) -> None:
    out = io.StringIO()
    (tmp_path / "receipts.jsonl").write_text("")
    problems = await policy_edition.Edition(server, out=out).run(tmp_path)
    assert problems == [], out.getvalue()
    text = out.getvalue()
    assert "6 wire-5 receipts verified offline" in text and "escalate to member:compliance" in text
    assert len((tmp_path / "receipts.jsonl").read_text().splitlines()) == 6
    assert '"protected"' in (tmp_path / "wire5.json").read_text()


def test_readme_quickstart_runs_and_is_what_the_readme_shows(server: Dict[str, str]) -> None:
    source = (EXAMPLES / "quickstart.py").read_text()
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert source in blocks, "README.md's Python quick start differs from bindings-python/examples/quickstart.py"
    env = dict(os.environ, ALLOWLY_KEY=server["runtime_api_key"], ALLOWLY_BASE_URL=server["base_url"],
               ALLOWLY_PII_PEPPER="quickstart-pepper")
    run = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "allow scope_granted"
    assert "is genuine: email.send → allow" in run.stdout


def test_readme_escalations_example_runs_and_is_what_the_readme_shows(server: Dict[str, str]) -> None:
    source = (EXAMPLES / "escalations.py").read_text()
    readme = (REPO / "bindings-python" / "README.md").read_text()
    assert source in re.findall(r"```python\n(.*?)```", readme, flags=re.S), "README's Escalations example differs"
    env = dict(os.environ, ALLOWLY_KEY=server["runtime_api_key"], ALLOWLY_SETUP_KEY=server["setup_api_key"],
               ALLOWLY_BASE_URL=server["base_url"])
    run = subprocess.run([sys.executable, str(EXAMPLES / "escalations.py")], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "escalate scope_requires_escalation member:team-lead-example",
        "level 1/2: approved → pending",
        "level 2/2: approved → approved",
        "approved",
        "allow escalation_approved",
    ]
    assert "allowly_mk_" not in run.stdout + run.stderr
