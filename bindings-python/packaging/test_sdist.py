"""The sdist without Rust fails fast with our message (build_backend/maturin_rust_required.py); with Rust it builds.

Usage: python3 test_sdist.py --sdist-dir DIR [--with-rust]
Without --with-rust (what `make test-wheel` runs): a fresh venv with no Rust in reach (rustless.py) runs
`pip install <sdist>`, which must fail, print the message naming the wheel and rustup, and never reach maturin's
toolchain download (`puccinialin`). pip fetches maturin, the sdist's build requirement, from the package index.
With --with-rust: the same install with this process's PATH (cargo and rustc found) must build and import; that is a
full release build of the extension (minutes), so it is run by hand, not by make.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rustless import assert_no_rust, make_venv, rustless_env


def one_sdist(sdist_dir: Path) -> Path:
    sdists = sorted(sdist_dir.glob("*.tar.gz"))
    if len(sdists) != 1:
        sys.exit(f"expected one sdist in {sdist_dir}, found {[s.name for s in sdists]}: run `make wheels`")
    return sdists[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sdist-dir", type=Path, required=True)
    ap.add_argument("--with-rust", action="store_true")
    a = ap.parse_args()
    sdist = one_sdist(a.sdist_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="allowly-test-sdist-") as tmp:
        root = Path(tmp)
        python = make_venv(root)
        if a.with_rust:
            env = dict(os.environ, PATH=os.pathsep.join([str(root / "venv" / "bin"), os.environ["PATH"]]))
        else:
            env = rustless_env(root)
            assert_no_rust(python, env)
        cmd = [str(python), "-m", "pip", "install", "--no-cache-dir", str(sdist)]
        done = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=3600)
        output = done.stdout + done.stderr
        if a.with_rust:
            if done.returncode != 0:
                sys.exit(f"pip install of the sdist with Rust failed ({done.returncode}):\n{output[-4000:]}")
            subprocess.run([str(python), "-c", "import allowly._native"], env=env, cwd=root, check=True)
            print(f"test-sdist: {sdist.name} built and imported with Rust on PATH")
            return
        expected = ["needs a Rust toolchain", "`cargo` is not on PATH", "--only-binary=:all:", "https://rustup.rs",
                    "never downloads a Rust toolchain"]
        missing = [e for e in expected if e not in output]
        if done.returncode == 0 or missing or "puccinialin" in output:
            sys.exit(f"pip install of the sdist without Rust: exit {done.returncode}, missing {missing} "
                     f"(puccinialin mentioned: {'puccinialin' in output}):\n{output[-4000:]}")
        print(f"test-sdist: {sdist.name} without Rust fails fast with the message (exit {done.returncode})")


if __name__ == "__main__":
    main()
