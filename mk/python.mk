# ---------------------------------------------------------------- Python wheels and sdist (docs/packaging-python.md)

# What users install from PyPI: abi3 wheels (one per platform, every CPython 3.9+) linked by zig against glibc 2.17
# (manylinux2014), checked by auditwheel, plus the sdist. The distribution name comes from pyproject.toml; nothing
# here spells it: every step finds the files it built by their platform tag.
.PHONY: wheels wheels-aarch64 smoke-aarch64 test-wheel
PY_DIST := $(DIST)/python
SMOKE_DIST := $(DIST)/smoke
# The packaging tools (mk/tools.mk).
# maturin looks for zig as `python -m ziglang` with the python on PATH, hence the venv's bin first.
WHEEL_PATH = $(abspath $(DIST_TOOLS))/bin:$$PATH
PY_PACKAGING := bindings-python/packaging

# The x86_64 release wheel (manylinux2014) and the sdist into $(PY_DIST); fails unless auditwheel agrees on the tag.
wheels: toolchain dist-tools
	mkdir -p $(PY_DIST)
	rm -f $(PY_DIST)/*x86_64*.whl $(PY_DIST)/*.tar.gz
	PATH="$(WHEEL_PATH)" maturin build --release --locked --zig --compatibility manylinux2014 \
	  --target x86_64-unknown-linux-gnu -m bindings-python/Cargo.toml -o $(PY_DIST)
	PATH="$(WHEEL_PATH)" maturin sdist -m bindings-python/Cargo.toml -o $(PY_DIST)
	$(DIST_TOOLS)/bin/python $(PY_PACKAGING)/audit_wheel.py --arch x86_64 --auditwheel $(DIST_TOOLS)/bin/auditwheel $(PY_DIST)

# The x86_64 wheel in a fresh venv with no Rust in reach: the walkthrough and the policy edition against a real
# allowly serve --dev; then the sdist in such a venv must stop with our message instead of downloading Rust.
test-wheel: wheels build-cli
	target_dir=$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'); \
	$(PYTHON) $(PY_PACKAGING)/test_wheel.py --wheel-dir $(PY_DIST) --allowly "$$target_dir/debug/allowly" \
	  --auditwheel $(abspath $(DIST_TOOLS))/bin/auditwheel
	$(PYTHON) $(PY_PACKAGING)/test_sdist.py --sdist-dir $(PY_DIST)

# aarch64 is cross-built with Debian's rustc 1.96 and its arm64 standard library (scripts/aarch64-env.sh; rustup
# cannot fetch other targets here). Whoever runs cargo (maturin, cargo-zigbuild) finds `cargo` and `rustc` on PATH,
# so a directory holding only those two links to Debian's goes first; RUSTC is set as well. zig links (maturin and
# cargo-zigbuild set the target's linker themselves), so the script's gcc linker default is unset.
# Those builds get a target directory of their own (aarch64-cross inside the usual one): they share no artifact
# with rustup's builds anyway (another rustc), and an x86_64 maturin build running at the same time in the same
# directory was seen to leave its x86_64 library where the aarch64 wheel picked it up.
AARCH64_BIN := target/dist-tools/aarch64-bin
AARCH64_SETUP = . scripts/aarch64-env.sh && unset CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER && \
	mkdir -p $(AARCH64_BIN) && ln -sf "$${AARCH64_CARGO\#\#* }" $(AARCH64_BIN)/cargo && \
	ln -sf "$$AARCH64_RUSTC" $(AARCH64_BIN)/rustc && export RUSTC="$$AARCH64_RUSTC" && \
	export CARGO_TARGET_DIR="$$(realpath -m "$${CARGO_TARGET_DIR:-target}")/aarch64-cross" && \
	export PATH="$(abspath $(DIST_TOOLS))/bin:$(abspath $(AARCH64_BIN)):$$PATH"

# The aarch64 release wheel (manylinux2014) into $(PY_DIST); built and checked by auditwheel, not run: qemu-user
# cannot run the extension's tokio threads (smoke-aarch64 is what runs on aarch64 here).
wheels-aarch64: dist-tools
	mkdir -p $(PY_DIST)
	rm -f $(PY_DIST)/*aarch64*.whl
	$(AARCH64_SETUP) && cargo --version && \
	maturin build --release --locked --zig --compatibility manylinux2014 \
	  --target aarch64-unknown-linux-gnu -m bindings-python/Cargo.toml -o $(PY_DIST)
	$(DIST_TOOLS)/bin/python $(PY_PACKAGING)/audit_wheel.py --arch aarch64 --auditwheel $(DIST_TOOLS)/bin/auditwheel $(PY_DIST)

# The single-threaded smoke program of allowly-core (core/src/bin/verify_vectors.rs) for aarch64, linked by zig
# against glibc 2.17 like the wheel, then run under qemu-user on every public receipt vector. No symbol may need a
# glibc newer than 2.17. `timeout`: should a change ever start a thread, qemu 7.2 would hang instead of failing.
SMOKE_AARCH64 := $(SMOKE_DIST)/verify_vectors-aarch64
smoke-aarch64: dist-tools
	mkdir -p $(SMOKE_DIST)
	$(AARCH64_SETUP) && \
	cargo-zigbuild build --release --locked -p allowly-core --features vectors-smoke --bin verify_vectors \
	  --target aarch64-unknown-linux-gnu.2.17 && \
	cp "$$CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/release/verify_vectors" $(SMOKE_AARCH64) && \
	newest=$$(aarch64-linux-gnu-objdump -T $(SMOKE_AARCH64) | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1) && \
	echo "$(SMOKE_AARCH64): newest glibc symbol version $$newest" && \
	$(PYTHON) -c 'import sys; v = tuple(map(int, sys.argv[1][6:].split("."))); sys.exit(f"{sys.argv[1]} is newer than GLIBC_2.17" if v > (2, 17) else 0)' "$$newest" && \
	timeout 600 $$AARCH64_QEMU $(SMOKE_AARCH64) tests/conformance
