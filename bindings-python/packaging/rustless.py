"""A Python environment with no Rust in reach: what a user who only runs `pip install` has.

Stripping ~/.cargo/bin from PATH is not enough on machines (like the build machine) where a distribution's rustc and
cargo live in /usr/bin next to python3, so PATH becomes a fresh venv's bin plus a directory of symlinks to only the
programs a check names. CARGO_HOME and RUSTUP_HOME point at directories that do not exist, and every other Rust
variable (CARGO, RUSTC, RUSTFLAGS, ...) is dropped. Standard library only: it runs under whatever python3 the
Makefile has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict, Sequence

REPO = Path(__file__).resolve().parents[2]


def rustless_env(root: Path, tools: Sequence[str] = ()) -> Dict[str, str]:
    """The environment, with `root/tools-bin` holding symlinks to `tools` (looked up on the caller's PATH)."""
    tools_bin = root / "tools-bin"
    tools_bin.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        found = shutil.which(tool)
        if not found:
            raise SystemExit(f"{tool} is not on PATH")
        link = tools_bin / tool
        if not link.exists():
            link.symlink_to(Path(found).resolve())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO", "RUSTUP", "RUSTC", "RUST", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join([str(root / "venv" / "bin"), str(tools_bin)])
    env["CARGO_HOME"] = str(root / "no-cargo-home")
    env["RUSTUP_HOME"] = str(root / "no-rustup-home")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def make_venv(root: Path) -> Path:
    """A fresh venv (with pip) at root/venv from the running interpreter; returns its python."""
    venv.EnvBuilder(with_pip=True, clear=True, symlinks=True).create(root / "venv")
    return root / "venv" / "bin" / "python"


def assert_no_rust(python: Path, env: Dict[str, str]) -> None:
    """Fails unless neither cargo nor rustc is found from inside the venv with this environment."""
    probe = "import shutil; print(repr([shutil.which(t) for t in ('cargo', 'rustc', 'rustup')]))"
    out = subprocess.run([str(python), "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    if out.strip() != "[None, None, None]":
        sys.exit(f"the Rust-free environment still finds a toolchain: {out.strip()}")
