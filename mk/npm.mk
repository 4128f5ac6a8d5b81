# npm packages (docs/packaging-node.md): the main package `openallowly` and one package per platform,
# `openallowly-<platform>`, each carrying a release build of the addon. Built here: linux-x64-gnu and linux-arm64-gnu
# (cross), both linked by zig against glibc 2.17; the other platforms come from the release workflow's runners.
#
#   make npm-packages        release build for x86_64 Linux (glibc 2.17) -> $(DIST)/npm/openallowly-0.1.0.tgz and
#                            openallowly-linux-x64-gnu-0.1.0.tgz
#   make npm-packages-arm64  the same for aarch64 Linux with Debian's rustc (scripts/aarch64-env.sh)
#                            -> openallowly-linux-arm64-gnu-0.1.0.tgz (not loadable under qemu-user here: node starts
#                            threads, which Debian's qemu 7.2 cannot run)
#   make test-npm-package    the tarballs installed in a fresh npm project without Rust; the README quick start and
#                            the seed walkthrough run against a real `allowly serve --dev`

.PHONY: npm-packages npm-packages-arm64 test-npm-package

NPM_DIST := $(DIST)/npm
# Where the release builds land before packing (not under $(DIST): only tarballs are artifacts).
NPM_BUILD := target/npm-build
# zig (the linker that pins glibc 2.17) and cargo-zigbuild: mk/tools.mk.
# napi build as `npm run build:release` does it, plus zig (-x: cargo zigbuild) with the glibc version in the target.
NPM_NAPI_RELEASE := npx napi build --platform --release --strip -x --js index.js --dts index.d.ts --no-const-enum
# Node (>= 20), the venv's zig and cargo-zigbuild on PATH, bindings-node's node_modules as locked.
NPM_ENV := export PATH="$(abspath $(DIST_TOOLS))/bin:$$(scripts/ensure-node.sh):$$PATH"; \
	cd bindings-node; $(NPM_CI)

# The newest GLIBC_ version a binary needs, from its dynamic symbol table; fails above 2.17 (manylinux2014's floor).
# $(1): objdump, $(2): the binary.
npm_check_glibc = newest=$$($(1) -T $(2) | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1); \
	echo "$(2): newest glibc symbol $$newest"; \
	[ "$$(printf '%s\n' "$$newest" 2.17 | sort -V | tail -1)" = 2.17 ] || { echo "$(2) needs glibc $$newest > 2.17" >&2; exit 1; }

npm-packages: toolchain dist-tools
	rm -rf $(NPM_BUILD)/linux-x64-gnu
	$(NPM_ENV); \
	$(NPM_NAPI_RELEASE) --target x86_64-unknown-linux-gnu.2.17 --output-dir $(abspath $(NPM_BUILD))/linux-x64-gnu -- --locked; \
	for f in index.js index.d.ts; do \
	  cmp -s native/$$f $(abspath $(NPM_BUILD))/linux-x64-gnu/$$f || { echo "native/$$f differs from what napi generates: npm run build and commit it" >&2; exit 1; }; \
	done
	$(call npm_check_glibc,objdump,$(NPM_BUILD)/linux-x64-gnu/allowly.linux-x64-gnu.node)
	rm -f $(NPM_DIST)/openallowly-[0-9]*.tgz $(NPM_DIST)/openallowly-linux-x64-gnu-*.tgz
	$(NPM_ENV); node scripts/npm-package.mjs --out $(abspath $(NPM_DIST)) --main $(abspath $(NPM_BUILD))/linux-x64-gnu/allowly.linux-x64-gnu.node

# Debian's cargo and rustc (the only ones here with the aarch64 std) run cargo-zigbuild; napi spawns $CARGO itself,
# so CARGO names the binary and RUSTC the compiler. zig links, so the gcc cross linker of aarch64-env.sh is unset.
npm-packages-arm64: dist-tools
	rm -rf $(NPM_BUILD)/linux-arm64-gnu
	. scripts/aarch64-env.sh; unset CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER; \
	$(NPM_ENV); \
	CARGO=/usr/bin/cargo RUSTC="$$AARCH64_RUSTC" \
	  $(NPM_NAPI_RELEASE) --target aarch64-unknown-linux-gnu.2.17 --output-dir $(abspath $(NPM_BUILD))/linux-arm64-gnu -- --locked
	kind=$$(file -L $(NPM_BUILD)/linux-arm64-gnu/allowly.linux-arm64-gnu.node); echo "$$kind"; \
	  grep -q 'ARM aarch64' <<<"$$kind" || { echo "not an aarch64 binary" >&2; exit 1; }
	$(call npm_check_glibc,aarch64-linux-gnu-objdump,$(NPM_BUILD)/linux-arm64-gnu/allowly.linux-arm64-gnu.node)
	rm -f $(NPM_DIST)/openallowly-linux-arm64-gnu-*.tgz
	$(NPM_ENV); node scripts/npm-package.mjs --out $(abspath $(NPM_DIST)) $(abspath $(NPM_BUILD))/linux-arm64-gnu/allowly.linux-arm64-gnu.node

# The allowly binary only serves the test (`allowly serve --dev`); the npm project itself never sees Rust.
test-npm-package: npm-packages
	$(CARGO) build --locked -p allowly-cli --bin allowly
	target_dir=$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'); \
	export PATH="$$(scripts/ensure-node.sh):$$PATH"; \
	version=$$(node -p 'require("./bindings-node/package.json").version'); \
	bindings-node/scripts/test-package.sh $(NPM_DIST)/openallowly-$$version.tgz \
	  $(NPM_DIST)/openallowly-linux-x64-gnu-$$version.tgz "$$target_dir/debug/allowly"
