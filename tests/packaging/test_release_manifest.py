"""scripts/release_manifest.py: every artifact with size and sha256, and a SHA256SUMS that `sha256sum -c` accepts."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "release_manifest.py"

_spec = importlib.util.spec_from_file_location("release_manifest", SCRIPT)
release_manifest = importlib.util.module_from_spec(_spec)
sys.modules["release_manifest"] = release_manifest
_spec.loader.exec_module(release_manifest)


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


class ManifestTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dist = Path(self.tmp.name) / "dist"
        self.files = {
            "python/openallowly-0.1.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": os.urandom(3000),
            "python/openallowly-0.1.0.tar.gz": b"sdist bytes",
            "npm/openallowly-0.1.0.tgz": b"",
            "bin/allowly-x86_64-unknown-linux-gnu": os.urandom(2 * 1024 * 1024 + 5),
        }
        for rel, data in self.files.items():
            path = self.dist / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_lists_every_file_with_its_size_and_sha256(self) -> None:
        out = run_script(str(self.dist))
        self.assertEqual(out.returncode, 0, out.stderr)
        for rel, data in self.files.items():
            line = next(l for l in out.stdout.splitlines() if l.startswith(rel + " "))
            self.assertIn(hashlib.sha256(data).hexdigest(), line)
            self.assertIn(release_manifest.human_size(len(data)), line)
        self.assertIn(f"{len(self.files)} artifacts", out.stdout)

    def test_sums_file_is_sorted_and_checked_by_sha256sum(self) -> None:
        self.assertEqual(run_script(str(self.dist)).returncode, 0)
        sums = (self.dist / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
        expected = [f"{hashlib.sha256(self.files[rel]).hexdigest()}  {rel}" for rel in sorted(self.files)]
        self.assertEqual(sums, expected)
        if shutil.which("sha256sum"):
            check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=self.dist, capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_a_second_run_does_not_list_the_sums_file_itself(self) -> None:
        run_script(str(self.dist))
        out = run_script(str(self.dist))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn("SHA256SUMS  ", (self.dist / "SHA256SUMS").read_text(encoding="utf-8"))
        self.assertIn(f"{len(self.files)} artifacts", out.stdout)

    def test_symlinks_and_hidden_files_are_not_artifacts(self) -> None:
        (self.dist / "bin" / "allowly").symlink_to("allowly-x86_64-unknown-linux-gnu")
        (self.dist / ".cache").mkdir()
        (self.dist / ".cache" / "x").write_bytes(b"x")
        (self.dist / "npm" / ".npmrc").write_bytes(b"x")
        paths = [a.path for a in release_manifest.collect(self.dist)]
        self.assertEqual(paths, sorted(self.files))

    def test_a_changed_artifact_changes_its_sum(self) -> None:
        run_script(str(self.dist))
        before = (self.dist / "SHA256SUMS").read_text(encoding="utf-8")
        (self.dist / "npm/openallowly-0.1.0.tgz").write_bytes(b"changed")
        run_script(str(self.dist))
        after = (self.dist / "SHA256SUMS").read_text(encoding="utf-8")
        self.assertNotEqual(before, after)
        self.assertIn(f"{hashlib.sha256(b'changed').hexdigest()}  npm/openallowly-0.1.0.tgz", after)

    def test_required_kind_without_artifacts_fails_naming_it(self) -> None:
        out = run_script(str(self.dist), "--require", "python", "--require", "kotlin")
        self.assertEqual(out.returncode, 1)
        self.assertIn("kotlin/", out.stderr)
        self.assertNotIn("python/", out.stderr)

    def test_empty_or_missing_dist_fails(self) -> None:
        empty = Path(self.tmp.name) / "empty"
        empty.mkdir()
        out = run_script(str(empty))
        self.assertEqual(out.returncode, 1)
        self.assertIn("no artifacts", out.stderr)
        self.assertFalse((empty / "SHA256SUMS").exists())
        self.assertEqual(run_script(str(Path(self.tmp.name) / "absent")).returncode, 1)

    def test_human_sizes(self) -> None:
        self.assertEqual(release_manifest.human_size(0), "0 B")
        self.assertEqual(release_manifest.human_size(1023), "1023 B")
        self.assertEqual(release_manifest.human_size(1536), "1.5 KiB")
        self.assertEqual(release_manifest.human_size(5 * 1024 * 1024), "5.0 MiB")


if __name__ == "__main__":
    unittest.main()
