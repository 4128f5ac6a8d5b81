"""The release workflow and the Dockerfile agree with the repository: the make targets and scripts the workflow calls
exist, its platform matrix covers every npm target, and the image runs as a non-root user with the /data volume.

actionlint and hadolint (make test-release-config) check syntax and style; these check what they cannot know.
Targets and scripts of another packaging part are only checked once its mk/ fragment exists (the parts of issue 22
are merged one by one); after that a missing one fails.
"""

from __future__ import annotations

import json
import re
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = (REPO / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")

# Which fragment defines the targets and scripts of each packaging part.
OWNER = {
    "wheels": "python.mk", "wheels-aarch64": "python.mk", "smoke-aarch64": "python.mk", "test-wheel": "python.mk",
    "npm-packages": "npm.mk", "npm-packages-arm64": "npm.mk", "test-npm-package": "npm.mk",
    "kotlin-jar": "jvm-swift.mk", "kotlin-jar-aarch64": "jvm-swift.mk", "test-kotlin-jar": "jvm-swift.mk",
    "test-swift-parse": "jvm-swift.mk", "scripts/swift-package-release.py": "jvm-swift.mk",
    "bindings-swift/scripts/build-xcframework.sh": "jvm-swift.mk",
}


def make_targets() -> set[str]:
    names: set[str] = set()
    for file in [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]:
        for line in file.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^([A-Za-z0-9_. -]+):(?!=)", line)
            if m:
                names.update(m.group(1).split())
    return names


def workflow_make_targets() -> set[str]:
    found: set[str] = set()
    # Commands only: `make` first on a `run:` line or a line of a run block (comments mention make targets too).
    for m in re.finditer(r"^\s*(?:run: )?make ((?:[a-z][a-z0-9-]*(?: |$))+)", WORKFLOW, re.M):
        found.update(m.group(1).split())
    return found


class WorkflowTest(unittest.TestCase):
    def assert_owned_exists(self, name: str, exists: bool) -> None:
        fragment = OWNER.get(name)
        if not exists and fragment and not (REPO / "mk" / fragment).exists():
            return  # that part is not merged yet: checked once mk/<fragment> exists
        self.assertTrue(exists, f"release.yml uses {name}, which this repository does not define")

    def test_every_make_target_it_runs_exists(self) -> None:
        targets = make_targets()
        used = workflow_make_targets()
        self.assertIn("test-release-config", used)
        for name in sorted(used):
            with self.subTest(target=name):
                self.assert_owned_exists(name, name in targets)

    def test_every_script_it_runs_exists(self) -> None:
        scripts = set(re.findall(r"\b((?:bindings-[a-z]+/)?scripts/[A-Za-z0-9_.-]+)", WORKFLOW))
        self.assertIn("scripts/changelog_section.py", scripts)
        self.assertIn("scripts/release_manifest.py", scripts)
        for name in sorted(scripts):
            with self.subTest(script=name):
                self.assert_owned_exists(name, (REPO / name).is_file())

    def test_matrix_builds_every_npm_target(self) -> None:
        napi_targets = json.loads((REPO / "bindings-node" / "package.json").read_text(encoding="utf-8"))["napi"]["targets"]
        matrix_targets = set(re.findall(r"^\s+- \{ name: [^,]+, os: [^,]+, target: ([a-z0-9_-]+)", WORKFLOW, re.M))
        self.assertEqual(len(matrix_targets), 7)
        self.assertLessEqual(set(napi_targets), matrix_targets)

    def test_the_jar_gets_every_jna_platform(self) -> None:
        for jna in ("linux-x86-64", "linux-aarch64", "darwin-x86-64", "darwin-aarch64", "win32-x86-64"):
            with self.subTest(jna=jna):
                self.assertIn(jna, WORKFLOW)

    def test_publishing_needs_a_tag_and_the_checks(self) -> None:
        for job in ("publish-pypi", "publish-npm", "github-release", "swift-package"):
            with self.subTest(job=job):
                block = WORKFLOW.split(f"\n  {job}:\n", 1)[1].split("\n\n", 1)[0]
                self.assertIn("if: needs.prepare.outputs.publish == 'true'", block)
        self.assertIn("publish=true", WORKFLOW.split("Release notes from CHANGELOG.md")[0])
        self.assertRegex(WORKFLOW, r'if \[ "\$EVENT" = push \]; then')

    def test_every_action_is_pinned_to_a_version(self) -> None:
        uses = re.findall(r"uses: ([^\s]+)", WORKFLOW)
        self.assertTrue(uses)
        for ref in uses:
            with self.subTest(action=ref):
                self.assertRegex(ref, r"@v\d+(\.\d+)*$")


class DockerfileTest(unittest.TestCase):
    def final_stage(self) -> str:
        return DOCKERFILE.rsplit("\nFROM ", 1)[1]

    def test_final_stage_is_distroless_and_non_root(self) -> None:
        final = self.final_stage()
        self.assertTrue(final.startswith("gcr.io/distroless/static-debian12:nonroot"))
        users = re.findall(r"^USER (\S+)", final, re.M)
        self.assertEqual(users, ["65532:65532"])

    def test_sqlite_volume_port_and_default_command(self) -> None:
        final = self.final_stage()
        self.assertIn('VOLUME ["/data"]', final)
        self.assertIn("EXPOSE 8787", final)
        self.assertIn('ENTRYPOINT ["/usr/local/bin/allowly"]', final)
        self.assertIn('CMD ["serve", "--listen", "0.0.0.0:8787", "--db", "sqlite:/data/allowly.db"]', final)

    def test_builds_a_static_musl_binary_for_both_architectures(self) -> None:
        self.assertIn("x86_64-unknown-linux-musl", DOCKERFILE)
        self.assertIn("aarch64-unknown-linux-musl", DOCKERFILE)
        self.assertIn("cargo zigbuild --locked --release -p allowly-cli --bin allowly", DOCKERFILE)

    def test_context_leaves_out_builds_and_local_databases(self) -> None:
        ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        for pattern in ("**/target", "**/node_modules", "**/.allowly", "**/*.db", ".git"):
            with self.subTest(pattern=pattern):
                self.assertIn(pattern, ignored)


if __name__ == "__main__":
    unittest.main()
