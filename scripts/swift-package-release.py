#!/usr/bin/env python3
"""Points the root Package.swift's AllowlyFFIC binary target at a released XCFramework zip.

The release workflow runs `set` after it built AllowlyFFIC.xcframework.zip on macOS and before it tags, so the tag's
Package.swift names the zip attached to that same release, pinned by its checksum. The checksum is what
`swift package compute-checksum` prints: the SHA-256 of the zip's bytes, as 64 lowercase hex digits.

    scripts/swift-package-release.py set --zip AllowlyFFIC.xcframework.zip --tag v0.1.0 [--repository owner/name]
    scripts/swift-package-release.py checksum AllowlyFFIC.xcframework.zip
    scripts/swift-package-release.py show           # the url and checksum Package.swift names now

Only the two lines of `let releasedFFI = (url: ..., checksum: ...)` change; anything else in the file is left as is,
and a file without exactly one of each line is refused rather than guessed at.
"""

import argparse
import hashlib
import re
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSET = "AllowlyFFIC.xcframework.zip"
PLACEHOLDER = "0" * 64
URL_LINE = re.compile(r'^(\s*url: ")(https://github\.com/[^"]+)(",\s*)$', re.M)
CHECKSUM_LINE = re.compile(r'^(\s*checksum: ")([^"]*)("\s*)$', re.M)
REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
TAG = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?$")


class ReleaseError(Exception):
    pass


def checksum(zip_path: Path) -> str:
    if not zip_path.is_file():
        raise ReleaseError(f"{zip_path}: no such file")
    if not zipfile.is_zipfile(zip_path):
        raise ReleaseError(f"{zip_path}: not a zip archive")
    with zipfile.ZipFile(zip_path) as archive:
        # SwiftPM unpacks the zip and looks for the framework at its top level.
        if not any(name.split("/")[0] == "AllowlyFFIC.xcframework" for name in archive.namelist()):
            raise ReleaseError(f"{zip_path}: no AllowlyFFIC.xcframework/ at the top of the archive")
    return hashlib.sha256(zip_path.read_bytes()).hexdigest()


def release_url(repository: str, tag: str) -> str:
    if not REPOSITORY.match(repository):
        raise ReleaseError(f"repository must be owner/name, got {repository!r}")
    if not TAG.match(tag):
        raise ReleaseError(f"tag must look like v1.2.3, got {tag!r}")
    return f"https://github.com/{repository}/releases/download/{tag}/{ASSET}"


def current(text: str) -> tuple[str, str]:
    urls, sums = URL_LINE.findall(text), CHECKSUM_LINE.findall(text)
    if len(urls) != 1 or len(sums) != 1:
        raise ReleaseError(
            f"Package.swift must hold exactly one releasedFFI url line and one checksum line "
            f"(found {len(urls)} and {len(sums)})"
        )
    return urls[0][1], sums[0][1]


def rewrite(text: str, url: str, digest: str) -> str:
    current(text)
    text = URL_LINE.sub(lambda m: m[1] + url + m[3], text)
    return CHECKSUM_LINE.sub(lambda m: m[1] + digest + m[3], text)


def repository_of(url: str) -> str:
    return "/".join(url.removeprefix("https://github.com/").split("/")[:2])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=REPO / "Package.swift")
    sub = parser.add_subparsers(dest="command", required=True)
    set_cmd = sub.add_parser("set", help="rewrite url and checksum for a released zip")
    set_cmd.add_argument("--zip", type=Path, required=True)
    set_cmd.add_argument("--tag", required=True, help="the release tag the zip is attached to, e.g. v0.1.0")
    set_cmd.add_argument("--repository", help="owner/name on GitHub (default: the one Package.swift names now)")
    sum_cmd = sub.add_parser("checksum", help="print the checksum SwiftPM expects for a zip")
    sum_cmd.add_argument("zip", type=Path)
    sub.add_parser("show", help="print the url and checksum Package.swift names now")
    args = parser.parse_args(argv)
    try:
        if args.command == "checksum":
            print(checksum(args.zip))
            return 0
        text = args.package.read_text()
        url, digest = current(text)
        if args.command == "show":
            print(f"url {url}")
            print(f"checksum {digest}" + (" (placeholder: no release yet)" if digest == PLACEHOLDER else ""))
            return 0
        new_digest = checksum(args.zip)
        new_url = release_url(args.repository or repository_of(url), args.tag)
        args.package.write_text(rewrite(text, new_url, new_digest))
        print(f"{args.package}: {new_url} {new_digest}")
        return 0
    except ReleaseError as error:
        print(f"swift-package-release: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
