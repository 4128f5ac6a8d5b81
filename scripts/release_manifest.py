#!/usr/bin/env python3
"""Lists every release artifact under a dist directory with its size and sha256, and writes DIST/SHA256SUMS.

    scripts/release_manifest.py target/dist                      # what `make release-local` ends with
    scripts/release_manifest.py dist --require python --require npm

SHA256SUMS uses `sha256sum`'s format (`<hex>  <path>`, paths relative to the dist directory, sorted), so a user
checks a download with `sha256sum -c --ignore-missing SHA256SUMS`; the release workflow runs this same script over
the artifacts of every job, so the local and published checksums are produced one way.
Exit 1 when there is nothing to list or a required kind (the first path component: python, npm, kotlin, swift, bin,
smoke, ...) has no artifact, so a release never ships a partial set silently.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

SUMS_NAME = "SHA256SUMS"


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the dist directory, with forward slashes
    size: int
    sha256: str

    @property
    def kind(self) -> str:
        return self.path.split("/", 1)[0] if "/" in self.path else ""


def sha256_of(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def collect(dist: Path) -> list[Artifact]:
    """Every regular file under dist except SHA256SUMS itself; symlinks are skipped (they would list a file twice
    or point outside the release). Hidden files and folders (a tool's cache, `.gitignore`) are not artifacts."""
    found: list[Artifact] = []
    for root, dirs, files in os.walk(dist):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (Path(root) / d).is_symlink())
        for name in sorted(files):
            file = Path(root) / name
            if name.startswith(".") or file.is_symlink() or not file.is_file():
                continue
            rel = file.relative_to(dist).as_posix()
            if rel == SUMS_NAME:
                continue
            found.append(Artifact(rel, file.stat().st_size, sha256_of(file)))
    return sorted(found, key=lambda a: a.path)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def sums_text(artifacts: list[Artifact]) -> str:
    return "".join(f"{a.sha256}  {a.path}\n" for a in artifacts)


def table(artifacts: list[Artifact]) -> str:
    width = max([len("artifact")] + [len(a.path) for a in artifacts])
    rows = [f"{'artifact':<{width}}  {'size':>10}  sha256"]
    rows += [f"{a.path:<{width}}  {human_size(a.size):>10}  {a.sha256}" for a in artifacts]
    total = sum(a.size for a in artifacts)
    rows.append(f"{len(artifacts)} artifacts, {human_size(total)}")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="List release artifacts with size and sha256; write SHA256SUMS.")
    parser.add_argument("dist", type=Path, help="the dist directory (target/dist locally)")
    parser.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="KIND",
        help="fail unless DIST/KIND/ holds at least one artifact (repeatable)",
    )
    args = parser.parse_args(argv)
    if not args.dist.is_dir():
        print(f"error: {args.dist} is not a directory: nothing was built", file=sys.stderr)
        return 1
    artifacts = collect(args.dist)
    kinds = {a.kind for a in artifacts}
    missing = [k for k in args.require if k not in kinds]
    sums = args.dist / SUMS_NAME
    if not artifacts:
        sums.unlink(missing_ok=True)
        print(f"error: no artifacts under {args.dist}", file=sys.stderr)
        return 1
    sums.write_text(sums_text(artifacts), encoding="utf-8")
    sys.stdout.write(table(artifacts))
    print(f"wrote {sums}")
    if missing:
        print(f"error: no artifacts under {', '.join(f'{args.dist}/{k}/' for k in missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
