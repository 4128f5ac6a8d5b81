"""Parses every committed Swift file with tree-sitter-swift and fails on any ERROR or MISSING node.

No Swift compiler runs on these machines, so this is the nearest check here: a file that does not parse cannot build.
It proves syntax only (no types, no imports, no SwiftPM resolution); the release workflow's macOS job runs
`swift build` and `swift test` on the package.

    python tests/packaging/swift_parse.py            # every *.swift git tracks
    python tests/packaging/swift_parse.py FILE...    # just these
"""

import re
import subprocess
import sys
from pathlib import Path

import tree_sitter_swift
from tree_sitter import Language, Parser

REPO = Path(__file__).resolve().parents[2]


def tracked_swift_files() -> list[Path]:
    # git ls-files, so a stray build folder never counts and a new committed file always does.
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.swift"], cwd=REPO, check=True, capture_output=True
    ).stdout.decode()
    return [REPO / name for name in out.split("\0") if name]


# `#if swift(>=5.8)` / `@attribute` / `#endif` (UniFFI writes hundreds) is valid Swift, but tree-sitter-swift 0.7
# parses a conditional block only where a statement or declaration may stand, never around a lone attribute.
# Such a block (attribute lines only, no #else) has its two directive lines blanked before parsing, which is what
# the compiler does for the package's swift-tools 5.9 (the condition holds); the attribute itself is still parsed.
# Line and column numbers are unchanged (same lengths, same newlines). Nothing else is rewritten.
ATTRIBUTE_ONLY_CONDITION = re.compile(
    rb"^([ \t]*#if (?:swift|compiler)\(>=[0-9.]+\)[ \t]*)\n((?:[ \t]*@[^\n]*\n)+)([ \t]*#endif[ \t]*)$", re.M
)


def blank_attribute_conditions(source: bytes) -> bytes:
    return ATTRIBUTE_ONLY_CONDITION.sub(
        lambda m: b" " * len(m[1]) + b"\n" + m[2] + b" " * len(m[3]), source
    )


def problems(parser: Parser, path: Path, root: Path = REPO) -> list[str]:
    tree = parser.parse(blank_attribute_conditions(path.read_bytes()))
    found = []
    # Iterative walk: the generated bindings are deep enough to make recursion a risk.
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not node.has_error and not node.is_missing:
            continue
        if node.is_error or node.is_missing:
            kind = f"missing {node.type}" if node.is_missing else "syntax error"
            line, column = node.start_point
            found.append(f"{path.relative_to(root)}:{line + 1}:{column + 1}: {kind}")
            if node.is_error:
                continue  # its children are the unparsed tokens, not separate problems
        stack.extend(reversed(node.children))
    return found


def main(argv: list[str]) -> int:
    files = [Path(a).resolve() for a in argv] if argv else tracked_swift_files()
    if not files:
        print("swift-parse: no .swift files found", file=sys.stderr)
        return 1
    if not any(f.name == "Package.swift" and f.parent == REPO for f in files) and not argv:
        print("swift-parse: the root Package.swift is not tracked", file=sys.stderr)
        return 1
    parser = Parser(Language(tree_sitter_swift.language()))
    failures = [p for f in files for p in problems(parser, f)]
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"swift-parse: {len(files)} files, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
