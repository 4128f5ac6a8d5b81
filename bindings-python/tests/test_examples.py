"""The demo walkthrough and the README quick start are tested code: both run here against the real dev server."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

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


@pytest.mark.parametrize("mode", ["2026-07-28", "legacy"])
async def test_readme_mcp_server_example_runs_and_is_what_the_readme_shows(server: Dict[str, str], mode: str) -> None:
    """The README's MCP server over real stdio, on both protocol eras: the confirm-gated tool asks once and runs."""
    import allowly
    import fastmcp
    from fastmcp.client.transports import PythonStdioTransport
    from mcp import types as mt

    source = (EXAMPLES / "mcp_server.py").read_text()
    readme = (REPO / "bindings-python" / "README.md").read_text()
    assert source in re.findall(r"```python\n(.*?)```", readme, flags=re.S), "README's MCP server example differs"
    async with allowly.Allowly(server["runtime_api_key"], base_url=server["base_url"], allow_insecure_http=True) as a:
        auth = await a.authorizations.create(
            user_id="mcp-example-user", agent_id="my-email-agent", scopes=["send_email"],
            requires_confirm_for=["send_email"],
        )
    env = dict(os.environ, ALLOWLY_KEY=server["runtime_api_key"], ALLOWLY_BASE_URL=server["base_url"],
               EXAMPLE_USER_ID="mcp-example-user", EXAMPLE_AUTHORIZATION_ID=auth.authorization_id)
    asked = []

    async def accept(message, response_type, params, context):
        asked.append(message)
        return mt.ElicitResult(action="accept", content={})

    transport = PythonStdioTransport(EXAMPLES / "mcp_server.py", env=env, python_cmd=sys.executable)
    async with fastmcp.Client(transport, elicitation_handler=accept, mode=mode) as c:
        result = await c.call_tool("send_email", {"to": "a@example.com", "body": "hi"})
    assert len(asked) == 1 and "`send_email`" in asked[0]
    assert result.content[0].text == "sent to a@example.com"
    assert result.meta["allowly.ai/reason"] == "user_confirmed"
