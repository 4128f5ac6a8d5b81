#!/usr/bin/env python3
"""Prints the CHANGELOG.md section of one version: the body of the GitHub release for that tag.

    scripts/changelog_section.py v0.1.0            # or 0.1.0; reads CHANGELOG.md at the repository root
    scripts/changelog_section.py 0.1.0 --changelog path/to/CHANGELOG.md

The release workflow publishes what this prints, so a tag whose version has no section (or an empty one) must stop
the release instead of publishing empty notes: exit 1 with the reason on stderr. Exit 2 on a usage error.
The changelog follows Keep a Changelog: `## [VERSION] - YYYY-MM-DD` headings, newest first, and link reference
definitions (`[0.1.0]: https://...`) at the end, which belong to no section.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

# `## [0.1.0] - 2026-12-06`, `## [0.1.0]`, `## [Unreleased]`; the date, when present, follows " - ".
_HEADING = re.compile(r"^##\s+\[(?P<version>[^\]]+)\](?:\s+-\s+(?P<date>\S.*?))?\s*$")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s+\S")


class SectionError(Exception):
    """The changelog has no usable section for the requested version."""


def normalise_version(tag: str) -> str:
    """`v0.1.0` (a git tag) and `0.1.0` name the same section; `refs/tags/v0.1.0` too (GITHUB_REF)."""
    name = tag.strip()
    name = name.removeprefix("refs/tags/")
    if re.fullmatch(r"v\d.*", name):
        name = name[1:]
    if not name:
        raise SectionError("empty version")
    return name


def section(text: str, version: str) -> str:
    """The notes under `## [version]`, without the heading, trimmed; raises SectionError if missing or empty."""
    lines = text.splitlines()
    start = None
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if m and m.group("version").strip().lower() == version.lower():
            if start is not None:
                raise SectionError(f"CHANGELOG.md has two sections for [{version}]")
            start = i + 1
    if start is None:
        raise SectionError(f"CHANGELOG.md has no section for [{version}] (add `## [{version}] - YYYY-MM-DD`)")
    body: list[str] = []
    for line in lines[start:]:
        if line.startswith("## ") or _LINK_DEFINITION.match(line):
            break
        body.append(line)
    notes = "\n".join(body).strip()
    if not notes:
        raise SectionError(f"the CHANGELOG.md section for [{version}] is empty")
    return notes + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the CHANGELOG.md section of a version (release notes).")
    parser.add_argument("version", help="the version or tag: 0.1.0, v0.1.0 or refs/tags/v0.1.0")
    parser.add_argument(
        "--changelog",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "CHANGELOG.md",
        help="the changelog file (default: CHANGELOG.md at the repository root)",
    )
    args = parser.parse_args(argv)
    try:
        text = args.changelog.read_text(encoding="utf-8")
    except OSError as e:
        print(f"error: cannot read {args.changelog}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        notes = section(text, normalise_version(args.version))
    except SectionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
