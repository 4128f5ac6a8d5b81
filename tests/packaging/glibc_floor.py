"""Fails when a shared library needs a glibc newer than the floor: the highest GLIBC_x.y its dynamic symbols name.

    python tests/packaging/glibc_floor.py OBJDUMP LIBRARY 2.17

OBJDUMP is `objdump` or a cross one (aarch64-linux-gnu-objdump). A library linked by zig against glibc 2.17 names
nothing above 2.17; one linked against the build machine's glibc usually names 2.28 or more.
"""

import re
import subprocess
import sys


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def main(objdump: str, library: str, floor: str) -> int:
    symbols = subprocess.run([objdump, "-T", library], check=True, capture_output=True, text=True).stdout
    needed = sorted({m for m in re.findall(r"GLIBC_([0-9]+(?:\.[0-9]+)+)", symbols)}, key=version)
    if not needed:
        print(f"{library}: names no GLIBC_ version at all; is it a glibc shared library?", file=sys.stderr)
        return 1
    if version(needed[-1]) > version(floor):
        print(f"{library}: needs GLIBC_{needed[-1]} > {floor}", file=sys.stderr)
        return 1
    print(f"{library}: glibc {needed[-1]} at most (floor {floor})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
