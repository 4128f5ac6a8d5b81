# ---------------------------------------------------------------- Release pipeline (issue 22, part 6; docs/releasing.md)
#   test-release-config  actionlint (with shellcheck) on .github/workflows, hadolint on the Dockerfile, and the tests
#                        of the release scripts (CHANGELOG section, manifest/SHA256SUMS) and of what the workflow and
#                        the Dockerfile rely on (make targets, scripts, platforms, the image's user and volume)
#   release-local        every artifact this Linux machine can build, then each one with size and sha256, and
#                        $(DIST)/SHA256SUMS. macOS, Windows, musl, the XCFramework and the container image are built by
#                        .github/workflows/release.yml only.

.PHONY: test-release-config release-local release-bin release-manifest

# The linters and zig: mk/tools.mk.
RELEASE_PY := $(DIST_TOOLS)/bin/python

test-release-config: dist-tools
	$(ACTIONLINT) -shellcheck=$(DIST_TOOLS)/bin/shellcheck
	$(DIST_TOOLS)/bin/hadolint Dockerfile
	$(RELEASE_PY) -m unittest -q tests/packaging/test_changelog_section.py tests/packaging/test_release_manifest.py \
	  tests/packaging/test_release_workflow.py tests/packaging/test_license_copies.py

# The other parts' targets, run by name (mk/python.mk, mk/npm.mk, mk/jvm-swift.mk). Override to build a subset, e.g.
# `make release-local RELEASE_PARTS=` for only the CLI and the listing of whatever $(DIST) already holds.
RELEASE_PARTS ?= wheels wheels-aarch64 smoke-aarch64 npm-packages npm-packages-arm64 kotlin-jar-aarch64
# Each part's folder under $(DIST) must then hold an artifact, or the listing fails instead of shipping a partial set.
RELEASE_REQUIRE = bin \
  $(if $(filter wheels wheels-aarch64,$(RELEASE_PARTS)),python) \
  $(if $(filter smoke-aarch64,$(RELEASE_PARTS)),smoke) \
  $(if $(filter npm-packages npm-packages-arm64,$(RELEASE_PARTS)),npm) \
  $(if $(filter kotlin-jar kotlin-jar-aarch64,$(RELEASE_PARTS)),kotlin)

release-local: $(RELEASE_PARTS) release-bin
	$(MAKE) --no-print-directory release-manifest RELEASE_PARTS="$(RELEASE_PARTS)"

release-manifest:
	$(PYTHON) scripts/release_manifest.py $(DIST) $(addprefix --require ,$(strip $(RELEASE_REQUIRE)))

# The host's `allowly` (server and CLI): release profile, linked by zig against glibc 2.17 like the wheels, so it runs
# on the same distributions (manylinux2014). Refused if any symbol needs a newer glibc.
RELEASE_BIN_TRIPLE := $(shell uname -m)-unknown-linux-gnu
release-bin: toolchain dist-tools
	PATH="$(abspath $(DIST_TOOLS))/bin:$$PATH" $(CARGO) zigbuild --locked --release -p allowly-cli --bin allowly \
	  --target $(RELEASE_BIN_TRIPLE).2.17
	target_dir=$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'); \
	bin="$$target_dir/$(RELEASE_BIN_TRIPLE)/release/allowly"; \
	newest=$$(objdump -T "$$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1); \
	echo "allowly needs glibc $$newest"; \
	[ "$$(printf '%s\n2.17\n' "$$newest" | sort -V | tail -1)" = 2.17 ] || { echo "allowly needs glibc $$newest > 2.17" >&2; exit 1; }; \
	mkdir -p $(DIST)/bin && cp "$$bin" $(DIST)/bin/allowly-$(RELEASE_BIN_TRIPLE) && \
	$(DIST)/bin/allowly-$(RELEASE_BIN_TRIPLE) --version
