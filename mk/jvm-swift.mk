# ---------------------------------------------------------------- Kotlin jar and Swift package (issue 22, part 5)
# docs/packaging-jvm-swift.md explains the layouts; these targets build and check what this Linux machine can:
#   kotlin-jar          jar + sources jar + pom in $(DIST)/kotlin, liballowly_ffi for linux-x86-64 inside (glibc 2.17)
#   kotlin-jar-aarch64  the same jar with linux-aarch64 added (cross-built; cannot be loaded under qemu-user here)
#   test-kotlin-jar     a fresh Maven project (tests/packaging/kotlin-consumer) with only the jar: lifecycle test
#   test-swift-parse    tree-sitter-swift parses every committed .swift file; scripts/swift-package-release.py's test

.PHONY: kotlin-jar kotlin-jar-aarch64 test-kotlin-jar test-swift-parse jvm-swift-tools

# The tools of this part, pinned, in their own gitignored venv (PyPI wheels: zig, cargo-zigbuild, tree-sitter).
JVM_SWIFT_VENV := target/dist-tools/jvm-swift
JVM_SWIFT_PY := $(JVM_SWIFT_VENV)/bin/python
JVM_SWIFT_TOOLS := ziglang==0.17.0 cargo-zigbuild==0.24.0 tree-sitter==0.26.1 tree-sitter-swift==0.7.4

jvm-swift-tools:
	@$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || { \
	  echo "installing python3-venv (apt)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; }
	@test -x $(JVM_SWIFT_PY) || $(PYTHON) -m venv $(JVM_SWIFT_VENV)
	@$(JVM_SWIFT_VENV)/bin/pip freeze 2>/dev/null | grep -qx 'tree-sitter-swift==0.7.4' && \
	  test -x $(JVM_SWIFT_VENV)/bin/cargo-zigbuild || \
	  $(JVM_SWIFT_VENV)/bin/pip install --disable-pip-version-check -q $(JVM_SWIFT_TOOLS)

test-swift-parse: jvm-swift-tools
	$(JVM_SWIFT_PY) tests/packaging/swift_parse.py
	$(JVM_SWIFT_PY) -m unittest -q tests/packaging/test_swift_package_release.py
