"""scripts/swift-package-release.py on a fake XCFramework zip and a copy of the root Package.swift.

Run by `make test-swift-parse` (stdlib unittest, no extra packages). The expected checksum is computed here with
hashlib, independently of the script: it is what `swift package compute-checksum` prints (SHA-256 of the zip).
"""

import hashlib
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "swift-package-release.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


class SwiftPackageRelease(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="swift-release-"))
        self.addCleanup(shutil.rmtree, self.dir)
        self.package = self.dir / "Package.swift"
        shutil.copy(REPO / "Package.swift", self.package)
        self.zip = self.dir / "AllowlyFFIC.xcframework.zip"
        with zipfile.ZipFile(self.zip, "w") as archive:
            archive.writestr("AllowlyFFIC.xcframework/Info.plist", "<plist>fake</plist>")
            archive.writestr("AllowlyFFIC.xcframework/macos-arm64_x86_64/liballowly_ffi.a", b"\x00fake archive")

    def test_set_writes_the_release_url_and_the_zip_sha256(self) -> None:
        before = self.package.read_text()
        result = run("--package", str(self.package), "set", "--zip", str(self.zip), "--tag", "v9.8.7",
                     "--repository", "someone/fork")
        self.assertEqual(result.returncode, 0, result.stderr)
        digest = hashlib.sha256(self.zip.read_bytes()).hexdigest()
        url = "https://github.com/someone/fork/releases/download/v9.8.7/AllowlyFFIC.xcframework.zip"
        after = self.package.read_text()
        self.assertIn(f'    url: "{url}",\n', after)
        self.assertIn(f'    checksum: "{digest}"\n', after)
        changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
        self.assertEqual(len(before.splitlines()), len(after.splitlines()))
        self.assertEqual([b.strip().split(":")[0] for _, b in changed], ["url", "checksum"])
        # `show` reads back what `set` wrote; the checksum command agrees with hashlib.
        self.assertIn(digest, run("--package", str(self.package), "show").stdout)
        self.assertNotIn("placeholder", run("--package", str(self.package), "show").stdout)
        self.assertEqual(run("checksum", str(self.zip)).stdout.strip(), digest)

    def test_the_rewritten_package_still_parses(self) -> None:
        try:
            sys.path.insert(0, str(Path(__file__).parent))
            import swift_parse
        except ImportError as error:  # run outside the tools venv (make test-swift-parse has tree-sitter)
            self.skipTest(f"tree-sitter-swift is not installed: {error}")
        run("--package", str(self.package), "set", "--zip", str(self.zip), "--tag", "v0.2.0")
        parser = swift_parse.Parser(swift_parse.Language(swift_parse.tree_sitter_swift.language()))
        self.assertEqual(swift_parse.problems(parser, self.package, root=self.dir), [])

    def test_set_keeps_the_repository_when_none_is_given_and_is_idempotent(self) -> None:
        for _ in range(2):
            result = run("--package", str(self.package), "set", "--zip", str(self.zip), "--tag", "v0.2.0")
            self.assertEqual(result.returncode, 0, result.stderr)
        text = self.package.read_text()
        self.assertIn("https://github.com/openallowly/allowly-sdk/releases/download/v0.2.0/", text)
        self.assertEqual(text.count("releases/download/"), 1)

    def test_the_committed_package_names_a_placeholder_until_the_first_release(self) -> None:
        shown = run("show")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("placeholder: no release yet", shown.stdout)

    def test_bad_input_is_refused_and_changes_nothing(self) -> None:
        before = self.package.read_text()
        not_zip = self.dir / "not.zip"
        not_zip.write_text("hello")
        wrong_zip = self.dir / "wrong.zip"
        with zipfile.ZipFile(wrong_zip, "w") as archive:
            archive.writestr("Other.xcframework/Info.plist", "x")
        cases = [
            (["--zip", str(self.dir / "missing.zip"), "--tag", "v1.0.0"], "no such file"),
            (["--zip", str(not_zip), "--tag", "v1.0.0"], "not a zip"),
            (["--zip", str(wrong_zip), "--tag", "v1.0.0"], "no AllowlyFFIC.xcframework/"),
            (["--zip", str(self.zip), "--tag", "latest"], "tag must look like"),
            (["--zip", str(self.zip), "--tag", "v1.0.0", "--repository", "no-slash"], "owner/name"),
            (["--zip", str(self.zip), "--tag", "v1.0.0", "--repository", "a/b/../c"], "owner/name"),
        ]
        for args, message in cases:
            result = run("--package", str(self.package), "set", *args)
            self.assertEqual(result.returncode, 1, args)
            self.assertIn(message, result.stderr, args)
            self.assertEqual(self.package.read_text(), before, args)

    def test_a_package_without_exactly_one_release_block_is_refused(self) -> None:
        text = self.package.read_text()
        self.package.write_text(text + text[text.index("let releasedFFI"):text.index("let localFFI")])
        result = run("--package", str(self.package), "set", "--zip", str(self.zip), "--tag", "v1.0.0")
        self.assertEqual(result.returncode, 1)
        self.assertIn("exactly one", result.stderr)


if __name__ == "__main__":
    unittest.main()
