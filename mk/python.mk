# ---------------------------------------------------------------- Python wheels and sdist (docs/packaging-python.md)

# What users install from PyPI: abi3 wheels (one per platform, every CPython 3.9+) linked by zig against glibc 2.17
# (manylinux2014), checked by auditwheel, plus the sdist. The distribution name comes from pyproject.toml; nothing
# here spells it: every step finds the files it built by their platform tag.
.PHONY: wheels test-wheel wheel-tools
PY_DIST := $(DIST)/python
SMOKE_DIST := $(DIST)/smoke
# The packaging tools, pinned, in a venv of their own (gitignored under target/): maturin, zig as a linker that can
# target an old glibc, auditwheel, and cargo-zigbuild (zig-linked plain cargo builds: the aarch64 smoke binary).
WHEEL_TOOLS := target/dist-tools/wheels-venv
WHEEL_TOOLS_PKGS := "maturin==1.16.0" "ziglang==0.17.0" "auditwheel==6.8.2" "cargo-zigbuild==0.24.0"
# maturin looks for zig as `python -m ziglang` with the python on PATH, hence the venv's bin first.
WHEEL_PATH = $(abspath $(WHEEL_TOOLS))/bin:$$PATH
PY_PACKAGING := bindings-python/packaging

wheel-tools:
	@if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	  echo "installing python3-venv (apt)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; \
	fi
	@test -x $(WHEEL_TOOLS)/bin/python || $(PYTHON) -m venv $(WHEEL_TOOLS)
	@$(WHEEL_TOOLS)/bin/python -c 'import importlib.metadata as m, sys; \
	  want = {"maturin": "1.16.0", "ziglang": "0.17.0", "auditwheel": "6.8.2", "cargo-zigbuild": "0.24.0"}; \
	  sys.exit(any(m.version(k) != v for k, v in want.items()))' >/dev/null 2>&1 || \
	  $(WHEEL_TOOLS)/bin/python -m pip install --disable-pip-version-check -q $(WHEEL_TOOLS_PKGS)

# The x86_64 release wheel (manylinux2014) and the sdist into $(PY_DIST); fails unless auditwheel agrees on the tag.
wheels: toolchain wheel-tools
	mkdir -p $(PY_DIST)
	rm -f $(PY_DIST)/*x86_64*.whl $(PY_DIST)/*.tar.gz
	PATH="$(WHEEL_PATH)" maturin build --release --locked --zig --compatibility manylinux2014 \
	  --target x86_64-unknown-linux-gnu -m bindings-python/Cargo.toml -o $(PY_DIST)
	PATH="$(WHEEL_PATH)" maturin sdist -m bindings-python/Cargo.toml -o $(PY_DIST)
	$(WHEEL_TOOLS)/bin/python $(PY_PACKAGING)/audit_wheel.py --arch x86_64 --auditwheel $(WHEEL_TOOLS)/bin/auditwheel $(PY_DIST)

# The x86_64 wheel in a fresh venv with no Rust in reach: the walkthrough and the policy edition against a real
# allowly serve --dev; then the sdist in such a venv must stop with our message instead of downloading Rust.
test-wheel: wheels build-cli
	target_dir=$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'); \
	$(PYTHON) $(PY_PACKAGING)/test_wheel.py --wheel-dir $(PY_DIST) --allowly "$$target_dir/debug/allowly" \
	  --auditwheel $(abspath $(WHEEL_TOOLS))/bin/auditwheel
	$(PYTHON) $(PY_PACKAGING)/test_sdist.py --sdist-dir $(PY_DIST)

