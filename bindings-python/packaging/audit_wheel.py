"""Fails unless the one wheel for ARCH in DIR is cp39-abi3 and `auditwheel show` places it in manylinux_2_17
(manylinux2014): the glibc floor the wheel's name promises must be the one its symbols need.

Usage: python3 audit_wheel.py --arch x86_64|aarch64 --auditwheel PATH DIR
`make wheels` and `make wheels-aarch64` run it after building; test_wheel.py imports it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def one_wheel(wheel_dir: Path, arch: str) -> Path:
    """The single `*manylinux_2_17_<arch>*.whl` in wheel_dir (names derived from the build, never spelled out)."""
    wheels = sorted(wheel_dir.glob(f"*manylinux_2_17_{arch}*.whl"))
    if len(wheels) != 1:
        found = [w.name for w in wheel_dir.glob("*.whl")]
        sys.exit(f"expected one manylinux_2_17 {arch} wheel in {wheel_dir}, found {found}")
    if "-cp39-abi3-" not in wheels[0].name:
        sys.exit(f"{wheels[0].name} is not a cp39-abi3 wheel")
    return wheels[0]


def audit(auditwheel: str, wheel: Path, arch: str) -> str:
    run = subprocess.run([auditwheel, "show", str(wheel)], capture_output=True, text=True)
    report = " ".join((run.stdout + run.stderr).split())
    # auditwheel names the most compatible tag it found consistent with the symbols, quoted.
    if run.returncode != 0 or f'"manylinux_2_17_{arch}"' not in report:
        sys.exit(f"auditwheel does not place {wheel.name} in manylinux_2_17 (manylinux2014):\n{report}")
    return report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True, choices=["x86_64", "aarch64"])
    ap.add_argument("--auditwheel", required=True)
    ap.add_argument("wheel_dir", type=Path)
    a = ap.parse_args()
    wheel = one_wheel(a.wheel_dir, a.arch)
    print(audit(a.auditwheel, wheel, a.arch))
    print(f"auditwheel: {wheel.name} is manylinux2014 ({a.arch})")


if __name__ == "__main__":
    main()
