"""`make test-wheel`: the x86_64 manylinux2014 wheel, installed with pip into a fresh venv that has no Rust, runs the
walkthrough and the policy-edition example against a real `allowly serve --dev`; `auditwheel show` must place the
wheel in manylinux2014 (glibc 2.17).

Usage: python3 test_wheel.py --wheel-dir DIR --allowly PATH --auditwheel PATH
The server is started from this process's own environment (it is a Rust binary we built); only the Python side runs
without Rust, from a directory outside the repository so nothing imports the source tree by accident.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from audit_wheel import audit, one_wheel
from rustless import REPO, assert_no_rust, make_venv, rustless_env

sys.path.insert(0, str(REPO / "tests" / "support"))
from devserver import dev_server  # noqa: E402

EXAMPLES = REPO / "bindings-python" / "examples"


def run(cmd, env, cwd) -> str:
    done = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel-dir", type=Path, required=True)
    ap.add_argument("--allowly", type=Path, required=True)
    ap.add_argument("--auditwheel", required=True)
    a = ap.parse_args()
    wheel = one_wheel(a.wheel_dir, "x86_64")
    audit(a.auditwheel, wheel, "x86_64")

    with tempfile.TemporaryDirectory(prefix="allowly-test-wheel-") as tmp:
        root = Path(tmp)
        python = make_venv(root)
        env = rustless_env(root)
        assert_no_rust(python, env)
        # --no-index: the wheel needs nothing from PyPI (its extras are optional and not installed here).
        run([python, "-m", "pip", "install", "-q", "--no-index", str(wheel.resolve())], env, root)
        where = run([python, "-c", "import allowly._native as n; print(n.__file__)"], env, root).strip()
        if not where.startswith(str(root / "venv")):
            sys.exit(f"allowly was imported from {where}, not from the test venv")

        with dev_server(binary=a.allowly) as server:
            ready = root / "ready.json"
            ready.write_text(json.dumps(server.info))
            ready.chmod(0o600)
            exports = root / "export"
            exports.mkdir()
            walk = run([python, EXAMPLES / "walkthrough.py", ready, "--export", exports], env, root)
            edition = run([python, EXAMPLES / "policy_edition.py", ready], env, root)
        for needle, text in (("11 signed receipts verified offline", walk), ("signature_mismatch", walk),
                             ("6 wire-5 receipts verified offline", edition)):
            if needle not in text:
                sys.exit(f"example output lacks {needle!r}:\n{text[-3000:]}")
        if server.info["runtime_api_key"] in walk + edition:
            sys.exit("an example printed the API key")
        lines = (exports / "receipts.jsonl").read_text().splitlines()
        if len(lines) != 11:
            sys.exit(f"the walkthrough exported {len(lines)} receipts, expected 11")
    print(f"test-wheel: {wheel.name} installed without Rust; walkthrough (11 receipts) and policy edition passed")


if __name__ == "__main__":
    main()
