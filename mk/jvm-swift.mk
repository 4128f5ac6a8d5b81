# ---------------------------------------------------------------- Kotlin jar and Swift package (issue 22, part 5)
# docs/packaging-jvm-swift.md explains the layouts; these targets build and check what this Linux machine can:
#   kotlin-jar          jar + sources jar + pom in $(DIST)/kotlin, liballowly_ffi for linux-x86-64 inside (glibc 2.17)
#   kotlin-jar-aarch64  the same jar with linux-aarch64 added (cross-built; cannot be loaded under qemu-user here)
#   test-kotlin-jar     a fresh Maven project (tests/packaging/kotlin-consumer) with only the jar: lifecycle test
#   test-swift-parse    tree-sitter-swift parses every committed .swift file; scripts/swift-package-release.py's test

.PHONY: kotlin-jar kotlin-jar-aarch64 test-kotlin-jar test-swift-parse

# zig, cargo-zigbuild and tree-sitter: mk/tools.mk.
JVM_SWIFT_PY := $(DIST_TOOLS)/bin/python

test-swift-parse: dist-tools
	$(JVM_SWIFT_PY) tests/packaging/swift_parse.py
	$(JVM_SWIFT_PY) -m unittest -q tests/packaging/test_swift_package_release.py

# The Cargo workspace's version: the jar's, the pom's (core/tests/versions.rs keeps them equal) and the consumer's.
JVM_VERSION = $(shell awk '/^\[workspace.package\]/ {f=1; next} /^\[/ {f=0} f && $$1 == "version" {gsub(/"/, "", $$3); print $$3}' Cargo.toml)
KOTLIN_DIST = $(DIST)/kotlin
KOTLIN_JAR = $(KOTLIN_DIST)/openallowly-kotlin-$(JVM_VERSION).jar
# Where JNA looks inside the jar: com.sun.jna.Platform.RESOURCE_PREFIX of each platform, then lib<name>.so.
JNA_X86_64 := linux-x86-64
JNA_AARCH64 := linux-aarch64
CARGO_TARGET_DIR_OF = $$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
MVN ?= mvn

# Release liballowly_ffi for x86_64 linked by zig against glibc 2.17 (manylinux2014's floor), checked with objdump;
# Maven compiles the Kotlin (no tests: make test-kotlin runs them) and the .so goes in under linux-x86-64/.
kotlin-jar: toolchain dist-tools
	@command -v $(MVN) >/dev/null 2>&1 || { \
	  echo "installing maven and a JDK (apt)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq maven default-jdk-headless >/dev/null; }
	PATH="$(abspath $(DIST_TOOLS))/bin:$$PATH" env -u CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER \
	  $(CARGO) zigbuild --locked --release -p allowly-swift --lib --target x86_64-unknown-linux-gnu.2.17
	target_dir=$(CARGO_TARGET_DIR_OF); lib="$$target_dir/x86_64-unknown-linux-gnu/release/liballowly_ffi.so"; \
	$(PYTHON) tests/packaging/glibc_floor.py objdump "$$lib" 2.17 && \
	rm -rf $(KOTLIN_DIST) target/dist-tools/jvm-natives && mkdir -p $(KOTLIN_DIST) target/dist-tools/jvm-natives/$(JNA_X86_64) && \
	cp "$$lib" target/dist-tools/jvm-natives/$(JNA_X86_64)/
	cd bindings-swift/kotlin && $(MVN) -q -B -Dstyle.color=never -Dmaven.test.skip=true package
	cp bindings-swift/kotlin/target/openallowly-kotlin-$(JVM_VERSION).jar $(KOTLIN_JAR)
	jar uf $(KOTLIN_JAR) -C target/dist-tools/jvm-natives $(JNA_X86_64)/liballowly_ffi.so
	cp bindings-swift/kotlin/pom.xml $(KOTLIN_DIST)/openallowly-kotlin-$(JVM_VERSION).pom
	jar cf $(KOTLIN_DIST)/openallowly-kotlin-$(JVM_VERSION)-sources.jar -C bindings-swift/kotlin/src/main/kotlin . \
	  -C . LICENSE
	@jar tf $(KOTLIN_JAR) | grep -E '\.so$$|LICENSE'
	@ls -l $(KOTLIN_DIST)

# Adds linux-aarch64/liballowly_ffi.so, cross-built with Debian's rustc 1.96 (scripts/aarch64-env.sh) and zig as the
# linker (glibc 2.17; the env's aarch64-linux-gnu-gcc linker is unset for this, else cargo-zigbuild keeps it and the
# library needs the build machine's glibc). No JVM runs under qemu-user here, so `file`, objdump and a single-threaded
# aarch64 C program (dlopen + the UniFFI contract version, under qemu) check it instead of a JUnit test.
kotlin-jar-aarch64: kotlin-jar
	. scripts/aarch64-env.sh && \
	PATH="$(abspath $(DIST_TOOLS))/bin:$$PATH" env -u CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER \
	  $$AARCH64_CARGO zigbuild --locked --release -p allowly-swift --lib --target aarch64-unknown-linux-gnu.2.17
	target_dir=$(CARGO_TARGET_DIR_OF); lib="$$target_dir/aarch64-unknown-linux-gnu/release/liballowly_ffi.so"; \
	desc=$$(file -L "$$lib") && echo "$$desc" && echo "$$desc" | grep -q 'ARM aarch64' && \
	$(PYTHON) tests/packaging/glibc_floor.py aarch64-linux-gnu-objdump "$$lib" 2.17 && \
	mkdir -p target/dist-tools/jvm-natives/$(JNA_AARCH64) && cp "$$lib" target/dist-tools/jvm-natives/$(JNA_AARCH64)/ && \
	aarch64-linux-gnu-gcc -O2 -o target/dist-tools/ffi_load_check_aarch64 tests/packaging/ffi_load_check.c -ldl && \
	expected=$$(sed -n 's/.*val bindings_contract_version = \([0-9]*\).*/\1/p' bindings-swift/kotlin/src/main/kotlin/ai/allowly/allowly.kt) && \
	. scripts/aarch64-env.sh && timeout 120 $$AARCH64_QEMU target/dist-tools/ffi_load_check_aarch64 "$$lib" "$$expected"
	jar uf $(KOTLIN_JAR) -C target/dist-tools/jvm-natives $(JNA_AARCH64)/liballowly_ffi.so
	@jar tf $(KOTLIN_JAR) | grep -E '\.so$$'

# A user's Maven project (tests/packaging/kotlin-consumer) in a temp dir, with the jar and its pom installed into a
# temp local repository: the only Allowly thing it sees. Third-party dependencies come from the user's ~/.m2 as a
# read-only file:// repository (then Maven Central), so nothing is downloaded twice and ~/.m2 never gets our jar.
# No jna.library.path and no LD_LIBRARY_PATH: JNA must take liballowly_ffi from the jar.
test-kotlin-jar: kotlin-jar build-cli
	target_dir=$(CARGO_TARGET_DIR_OF); tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cp -r tests/packaging/kotlin-consumer "$$tmp/project"; \
	printf '%s\n' '<settings><profiles><profile><id>home-m2</id>' \
	  "<repositories><repository><id>home-m2</id><url>file://$$HOME/.m2/repository</url></repository></repositories>" \
	  "<pluginRepositories><pluginRepository><id>home-m2</id><url>file://$$HOME/.m2/repository</url></pluginRepository></pluginRepositories>" \
	  '</profile></profiles><activeProfiles><activeProfile>home-m2</activeProfile></activeProfiles></settings>' \
	  > "$$tmp/settings.xml"; \
	mvn_tmp="$(MVN) -q -B -Dstyle.color=never -s $$tmp/settings.xml -Dmaven.repo.local=$$tmp/m2"; \
	$$mvn_tmp install:install-file -Dfile="$(abspath $(KOTLIN_JAR))" \
	  -DpomFile="$(abspath $(KOTLIN_DIST))/openallowly-kotlin-$(JVM_VERSION).pom" \
	  -Dsources="$(abspath $(KOTLIN_DIST))/openallowly-kotlin-$(JVM_VERSION)-sources.jar"; \
	cd "$$tmp/project" && env -u LD_LIBRARY_PATH -u JAVA_TOOL_OPTIONS $$mvn_tmp test \
	  -Dopenallowly.version=$(JVM_VERSION) -Dallowly.bin="$$target_dir/debug/allowly" && \
	grep -h "Tests run" target/surefire-reports/*.txt
