"""scripts/changelog_section.py: the release notes of a tag, and a refusal when its section is missing or empty."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "changelog_section.py"

_spec = importlib.util.spec_from_file_location("changelog_section", SCRIPT)
changelog_section = importlib.util.module_from_spec(_spec)
sys.modules["changelog_section"] = changelog_section
_spec.loader.exec_module(changelog_section)

SAMPLE = """# Changelog

All notable changes are documented here.

## [Unreleased]

### Added
- Something not yet released.

## [0.2.0] - 2027-01-10

### Fixed
- The second release's fix.

## [0.1.0] - 2026-12-06

### Added
- The first release.

  An indented paragraph of the same entry.

## [0.0.9] - 2026-11-01

[Unreleased]: https://example.invalid/compare/v0.2.0...HEAD
[0.2.0]: https://example.invalid/compare/v0.1.0...v0.2.0
[0.1.0]: https://example.invalid/releases/tag/v0.1.0
"""


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


class SectionTest(unittest.TestCase):
    def test_middle_section_stops_at_the_next_heading(self) -> None:
        self.assertEqual(changelog_section.section(SAMPLE, "0.2.0"), "### Fixed\n- The second release's fix.\n")

    def test_last_section_stops_before_the_link_definitions(self) -> None:
        notes = changelog_section.section(SAMPLE.replace("## [0.0.9] - 2026-11-01\n", ""), "0.1.0")
        self.assertEqual(notes, "### Added\n- The first release.\n\n  An indented paragraph of the same entry.\n")

    def test_unreleased_is_a_section_too(self) -> None:
        self.assertIn("Something not yet released.", changelog_section.section(SAMPLE, "Unreleased"))

    def test_missing_version_is_an_error_naming_it(self) -> None:
        with self.assertRaisesRegex(changelog_section.SectionError, r"no section for \[0\.3\.0\]"):
            changelog_section.section(SAMPLE, "0.3.0")

    def test_a_version_prefix_is_not_a_match(self) -> None:
        with self.assertRaises(changelog_section.SectionError):
            changelog_section.section(SAMPLE, "0.1")

    def test_empty_section_is_an_error(self) -> None:
        with self.assertRaisesRegex(changelog_section.SectionError, r"\[0\.0\.9\] is empty"):
            changelog_section.section(SAMPLE, "0.0.9")

    def test_duplicate_section_is_an_error(self) -> None:
        doubled = SAMPLE + "\n## [0.2.0] - 2027-01-11\n\n- again\n"
        with self.assertRaisesRegex(changelog_section.SectionError, "two sections"):
            changelog_section.section(doubled, "0.2.0")

    def test_tag_forms_name_the_same_version(self) -> None:
        for tag in ("v0.1.0", "0.1.0", "refs/tags/v0.1.0"):
            self.assertEqual(changelog_section.normalise_version(tag), "0.1.0")
        self.assertEqual(changelog_section.normalise_version("Unreleased"), "Unreleased")


class ScriptTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.changelog = Path(self.dir.name) / "CHANGELOG.md"
        self.changelog.write_text(SAMPLE, encoding="utf-8")

    def tearDown(self) -> None:
        self.dir.cleanup()

    def test_prints_the_section_of_a_tag(self) -> None:
        out = run_script("v0.2.0", "--changelog", str(self.changelog))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "### Fixed\n- The second release's fix.\n")

    def test_missing_section_exits_1_with_nothing_on_stdout(self) -> None:
        out = run_script("v9.9.9", "--changelog", str(self.changelog))
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stdout, "")
        self.assertIn("no section for [9.9.9]", out.stderr)

    def test_missing_changelog_exits_1(self) -> None:
        out = run_script("v0.1.0", "--changelog", str(Path(self.dir.name) / "absent.md"))
        self.assertEqual(out.returncode, 1)
        self.assertIn("cannot read", out.stderr)


class RepositoryChangelogTest(unittest.TestCase):
    """The committed CHANGELOG.md can be released as the workspace's current version."""

    def test_current_workspace_version_has_notes(self) -> None:
        version = tomllib.loads((REPO / "Cargo.toml").read_text(encoding="utf-8"))["workspace"]["package"]["version"]
        out = run_script(version)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.strip())

    def test_has_an_unreleased_section_heading(self) -> None:
        text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
        self.assertRegex(text, r"(?m)^## \[Unreleased\]$")


if __name__ == "__main__":
    unittest.main()
