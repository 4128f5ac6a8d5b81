# The two commands a newcomer runs are `make demo` and `make test`; everything else is optional.
# Each target installs what it needs; nothing here assumes a manual setup step.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= $(shell command -v cargo 2>/dev/null || echo $$HOME/.cargo/bin/cargo)
export CARGO_TERM_COLOR ?= never
PYTHON ?= python3
# The Python binding's own virtualenv (gitignored): maturin, pytest and the editable `openallowly` (imports as
# `allowly`) live here.
VENV := bindings-python/.venv
VENV_PY := $(VENV)/bin/python
PY_TOOLS := "maturin>=1.9,<2" "pytest>=8" "pytest-asyncio>=0.23" "jsonschema>=4"
# The MCP frameworks the middleware tests drive (allowly's optional extras `fastmcp` / `mcp`; test-only here).
PY_MCP := "fastmcp>=4.2.3,<5" "mcp>=2.3,<3"

.PHONY: demo test parity test-rust test-sqlite test-python test-python-release test-oracles oracle-venvs test-node test-kotlin models ffi-bindings python-env python-build lint fmt bench toolchain build-cli clean help

help:
	@echo "make demo   - run the Allowly lifecycle end to end against a local allowly serve --dev"
	@echo "make test   - run every test (Rust core, CLI, conformance vectors, the server on SQLite and PostgreSQL, Python binding)"
	@echo "make test-sqlite - the Rust tests without PostgreSQL (its variants are skipped)"
	@echo "make test-python - build the allowly Python package into $(VENV) and run its pytest suite"
	@echo "make test-python-release - the release wheel in its own venv: the examples 50 times each, every exit 0"
	@echo "make test-oracles - the official PyPI packages (allowly 0.3.1 and 0.8.0, allowly-receipt-format 4.3.1 and 5.0.0) against our server and receipts"
	@echo "make test-node - the Node binding (npm package openallowly): build the addon, node --test, tsc (installs Node 20+ if needed)"
	@echo "make parity - run tests/scenarios in every language and print the scenario x language table"
	@echo "make test-kotlin - the Kotlin/JVM binding (bindings-swift/kotlin): build liballowly_ffi + allowly, mvn test (JUnit 5)"
	@echo "make models - after changing a core model: rewrite the binding model files (tools/modelgen), then the Swift/Kotlin sources and the Node index.d.ts"
	@echo "make ffi-bindings - regenerate the committed Swift/Kotlin sources of bindings-swift with the pinned uniffi-bindgen"
	@echo "make bench  - every benchmark against the official tools, table + bench/results/latest.json (release builds; not part of make test)"
	@echo "make lint   - rustfmt check + clippy with warnings as errors"
	@echo "make test-packaging - what users install, checked without Rust: the manylinux2014 wheel, the npm tarballs, the Kotlin jar; Swift parsed; release.yml and the Dockerfile linted"
	@echo "make release-local - every artifact this machine can build (x86_64 and aarch64 Linux) into target/dist, with size and sha256 (docs/releasing.md)"
	@echo "make test-reliability - fuzz-smoke, crash-restart (SQLite + PostgreSQL), fault injection, bad-input sweep, security tests, secrets audit"

# ---------------------------------------------------------------- Setup: toolchain, Python venv, builds

toolchain:
	@test -x "$(CARGO)" || { echo "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
	@$(CARGO) --version

build-cli: toolchain
	$(CARGO) build --locked -p allowly-cli

# A venv with the build and test tools. A fresh Debian has python3 without venv/ensurepip: install it via apt then.
python-env:
	@if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	  echo "installing python3-venv (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; \
	fi
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	@$(VENV_PY) -c 'import maturin, pytest, pytest_asyncio, jsonschema' >/dev/null 2>&1 || \
	  $(VENV_PY) -m pip install --disable-pip-version-check -q $(PY_TOOLS)
	@$(VENV_PY) -c 'import fastmcp, mcp.server.mcpserver' >/dev/null 2>&1 || \
	  $(VENV_PY) -m pip install --disable-pip-version-check -q $(PY_MCP)

# The distribution was renamed `allowly` -> `openallowly` (the vendor owns `allowly` on PyPI); in our own venvs an
# `allowly` distribution can only be our build under the old name. Uninstalled before installing the new one, since
# uninstalling it afterwards would delete the files both share.
drop-old-dist = $(1) -c 'import importlib.metadata as m; m.distribution("allowly")' >/dev/null 2>&1 && \
	  { echo "uninstalling the pre-rename allowly distribution from $(1)"; $(1) -m pip uninstall -y -q allowly; } || true

# Debug build of the native module, installed editable into the venv (incremental: seconds when nothing changed),
# plus the allowly CLI the tests and the demo start as `allowly serve --dev`.
python-build: toolchain python-env
	@$(call drop-old-dist,$(VENV_PY))
	VIRTUAL_ENV="$(abspath $(VENV))" $(VENV)/bin/maturin develop --locked -q -m bindings-python/Cargo.toml
	$(CARGO) build --locked -p allowly-cli --bin allowly


# ---------------------------------------------------------------- Demo and the full test run

# demo.sh builds the CLI itself; the Python walkthrough needs the allowly package installed first.
demo: toolchain python-build
	CARGO="$(CARGO)" DEMO_PYTHON="$(VENV_PY)" scripts/demo.sh

# The fast reliability checks ride along: fault injection, the security tests and the fuzz replays are in test-rust;
# test-sweep-fast is the bad-input sweep with 10 generated cases per operation and mode (about a minute).
test: toolchain lint test-rust test-python test-python-release test-oracles test-node test-kotlin test-packaging test-sweep-fast
	@echo "make test: all suites passed"


# ---------------------------------------------------------------- Tests per language

# The server suite runs on SQLite and on a throwaway PostgreSQL that the script installs (apt) and starts if needed.
# python-env first: the e2e tests put `allowly mcp proxy` in front of a real FastMCP server from that venv.
test-rust: toolchain python-env
	scripts/with-postgres.sh $(CARGO) test --locked --workspace

test-sqlite: toolchain python-env
	env -u ALLOWLY_TEST_PG_URL -u ALLOWLY_TEST_REQUIRE_PG $(CARGO) test --locked --workspace

test-python: python-build
	cd bindings-python && .venv/bin/python -m pytest -q

# The release wheel in a virtualenv of its own (what users install), then the examples run 50 times each with it and
# every exit code must be 0: the release build once crashed at interpreter exit, the debug build never did.
# The wheel is the one `make wheels` (mk/python.mk) builds for PyPI, so a run of make test builds it once.
RELEASE_VENV := bindings-python/.venv-release
test-python-release: python-build wheels
	@test -x $(RELEASE_VENV)/bin/python || $(PYTHON) -m venv $(RELEASE_VENV)
	@$(call drop-old-dist,$(RELEASE_VENV)/bin/python)
	$(RELEASE_VENV)/bin/python -m pip install --disable-pip-version-check -q --force-reinstall --no-deps $(PY_DIST)/*manylinux_2_17_x86_64*.whl
	cd bindings-python && ALLOWLY_RELEASE_PYTHON="$(abspath $(RELEASE_VENV))/bin/python" .venv/bin/python -m pytest -q -rs tests/test_release_exit.py

# The official packages from PyPI as outside oracles (tests/oracle/README.md): the 0.3.1 SDK drives the walkthrough
# lifecycle against allowly serve --dev and exports the signed receipts, the reference verifier 4.3.1 verifies them
# (and rejects a tampered copy), the reference verifier 5.0.0 judges our wire-5 vectors like we do, the 0.8.0 SDK's
# agent tokens (from a credential `allowly agent enroll` wrote) must be accepted and bad ones refused, and the 0.8.0 SDK runs the policy-edition lifecycle whose wire-5 receipts its verifier
# (allowly-receipt-format 5.0.0, pinned by 0.8.0) accepts. They all import as `allowly` /
# `allowly_receipt_format`, so each pinned version has its own venv (gitignored), created once and then reused.
ORACLE_DIR := tests/oracle
ORACLE_SDK_OLD := $(ORACLE_DIR)/.venv-sdk-0.3.1
ORACLE_RF := $(ORACLE_DIR)/.venv-rf-4.3.1
ORACLE_RF5 := $(ORACLE_DIR)/.venv-rf-5.0.0
ORACLE_SDK_NEW := $(ORACLE_DIR)/.venv-sdk-0.8.0

oracle-venvs:
	@if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	  echo "installing python3-venv (apt)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; \
	fi
	@for spec in "$(ORACLE_SDK_OLD) allowly 0.3.1" "$(ORACLE_RF) allowly-receipt-format 4.3.1" "$(ORACLE_RF5) allowly-receipt-format 5.0.0" "$(ORACLE_SDK_NEW) allowly 0.8.0"; do \
	  set -- $$spec; \
	  test -x $$1/bin/python || $(PYTHON) -m venv $$1; \
	  $$1/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version('$$2') != '$$3')" >/dev/null 2>&1 || \
	    { echo "installing $$2==$$3 into $$1"; $$1/bin/python -m pip install --disable-pip-version-check -q "$$2==$$3"; }; \
	done

test-oracles: toolchain oracle-venvs
	$(CARGO) build --locked -p allowly-cli --bin allowly
	export_dir=$$(mktemp -d -t allowly-oracle-XXXXXX); trap 'rm -rf "$$export_dir"' EXIT; \
	$(ORACLE_SDK_OLD)/bin/python $(ORACLE_DIR)/lifecycle_sdk_0_3_1.py "$$export_dir"; \
	$(ORACLE_RF)/bin/python $(ORACLE_DIR)/verify_rf_4_3_1.py "$$export_dir"; \
	$(ORACLE_RF5)/bin/python $(ORACLE_DIR)/verify_rf_5_0_0.py; \
	$(ORACLE_SDK_NEW)/bin/python $(ORACLE_DIR)/agent_token_sdk_0_8_0.py; \
	$(ORACLE_SDK_NEW)/bin/python $(ORACLE_DIR)/lifecycle_sdk_0_8_0.py; \
	$(ORACLE_SDK_NEW)/bin/python $(ORACLE_DIR)/resolution_webhook_sdk_0_8_0.py; \
	$(ORACLE_SDK_NEW)/bin/python $(ORACLE_DIR)/escalations_sdk_0_8_0.py; \
	$(ORACLE_SDK_NEW)/bin/python $(ORACLE_DIR)/policy_definitions_sdk_0_8_0.py
	@echo "make test-oracles: the official packages agree with our server and receipts"

# Installs Node 20+ if it is missing (scripts/ensure-node.sh) and the package's locked devDependencies, builds the
# addon and the allowly binary the end-to-end tests start, then runs node --test and the type test.
test-node: toolchain
	export PATH="$$(scripts/ensure-node.sh):$$PATH"; \
	$(CARGO) build --locked -p allowly-cli; \
	cd bindings-node; \
	$(NPM_CI); \
	npm run build; \
	npm test; \
	npm run typecheck

# node_modules as the lock file says: installed again whenever package-lock.json is newer than the last install
# (npm writes node_modules/.package-lock.json), so a pulled dependency change is never tested against stale modules.
NPM_CI := [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund

# The Kotlin/JVM binding: the UniFFI library (liballowly_ffi) and the allowly binary the tests start, then Maven (JUnit 5)
# with JNA pointed at cargo's debug folder. Needs a JDK 17+ and Maven; installs Maven with apt when it is missing.
MVN ?= mvn
test-kotlin: toolchain
	$(CARGO) build --locked -p allowly-swift -p allowly-cli
	@command -v $(MVN) >/dev/null 2>&1 || { \
	  echo "installing maven and a JDK (apt)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq maven default-jdk-headless >/dev/null; }
	target_dir=$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'); \
	cd bindings-swift/kotlin && rm -rf target/surefire-reports && rc=0 && \
	{ $(MVN) -q -B -Dstyle.color=never test -Dallowly.native.dir="$$target_dir/debug" || rc=$$?; } && \
	{ awk -F'[ ,]+' '/^Tests run/ {r+=$$3; f+=$$5; e+=$$7; s+=$$9} END {print "kotlin: " r-f-e-s " passed, " f+e " failed, " s " skipped"}' target/surefire-reports/*.txt || true; } && \
	exit $$rc


# ---------------------------------------------------------------- Shared scenarios in every language (parity)

# The shared scenarios (tests/scenarios/*.json) in every language: builds what the three runners need (the Python
# package, the Node addon, the CLI), runs each runner with ALLOWLY_PARITY_DIR, prints scenario x language.
parity: toolchain python-build
	export PATH="$$(scripts/ensure-node.sh):$$PATH"; \
	(cd bindings-node && { $(NPM_CI); } && npm run build); \
	CARGO="$(CARGO)" MAKE="$(MAKE)" $(PYTHON) scripts/parity.py


# ---------------------------------------------------------------- Generated sources, lint, format, clean

# After a change to a model in core/src/model: the binding model files (tools/modelgen: Node objects, UniFFI records,
# Python getters and stub properties), then everything generated from them (Swift/Kotlin sources, Node index.d.ts).
# Each has a drift test in make test.
models: toolchain
	$(CARGO) run --locked -q -p allowly-modelgen
	$(MAKE) --no-print-directory ffi-bindings
	cd bindings-node && { $(NPM_CI); } && npm run build

# Rewrites bindings-swift's committed generated sources (Swift, header, modulemap, Kotlin); the drift test checks them.
ffi-bindings: toolchain
	ALLOWLY_UPDATE_GENERATED=1 $(CARGO) test --locked -p allowly-swift --test generated_drift

lint: toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --workspace --no-deps -q

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean


# ---------------------------------------------------------------- Reliability: fault injection, crash-restart

.PHONY: test-faults test-crash-restart
# The client fault-injection test alone (it also runs in make test): a proxy that drops, delays, truncates and resets
# connections between allowly-core's Client and the real allowly serve.
test-faults: toolchain
	$(CARGO) test --locked -p allowly-e2e --test fault_injection -- --nocapture

# Crash-restart: concurrent load against allowly serve, SIGKILLed at random points and restarted on the same database
# (6 cycles on SQLite, then 6 on a throwaway PostgreSQL with one server and 6 with two servers sharing it, one of
# them killed per cycle); then every receipt a client was given must exist, be signed and verify, and no budget,
# max_per_day, nonce or settlement may have been used beyond its limit. PostgreSQL runs with its durable defaults
# (ALLOWLY_PG_DURABLE=1), as a deployment would. Not in make test (about two minutes).
test-crash-restart: python-build
	target_dir=$$($(CARGO) metadata --format-version 1 --no-deps | $(PYTHON) -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])'); \
	$(VENV_PY) scripts/crash_restart.py --backend sqlite --allowly "$$target_dir/debug/allowly"; \
	ALLOWLY_PG_DURABLE=1 scripts/with-postgres.sh $(VENV_PY) scripts/crash_restart.py --backend postgres --allowly "$$target_dir/debug/allowly"; \
	ALLOWLY_PG_DURABLE=1 scripts/with-postgres.sh $(VENV_PY) scripts/crash_restart.py --backend postgres --servers 2 --allowly "$$target_dir/debug/allowly"


# ---------------------------------------------------------------- Reliability: bad-input sweep, security tests, secrets audit

# test-sweep: schemathesis (own venv under tests/reliability) against a real `allowly serve --dev`;
# test-security: server/tests/security.rs on SQLite and PostgreSQL; secrets-audit: the suites' captured output grepped
# for keys, peppers and private keys (scripts/secrets_audit.sh).
.PHONY: test-sweep test-security secrets-audit sweep-env
SWEEP_VENV := tests/reliability/.venv
SWEEP_TOOLS := "schemathesis==4.32.5" "pynacl>=1.5"

sweep-env:
	@if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	  echo "installing python3-venv (apt)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; \
	fi
	@test -x $(SWEEP_VENV)/bin/python || $(PYTHON) -m venv $(SWEEP_VENV)
	@$(SWEEP_VENV)/bin/python -c 'import schemathesis, nacl' >/dev/null 2>&1 || \
	  $(SWEEP_VENV)/bin/python -m pip install --disable-pip-version-check -q $(SWEEP_TOOLS)

test-sweep: toolchain sweep-env
	$(CARGO) build --locked -p allowly-cli --bin allowly
	$(SWEEP_VENV)/bin/python tests/reliability/sweep.py

test-security: toolchain
	scripts/with-postgres.sh $(CARGO) test --locked -p allowly-server --test security

secrets-audit: toolchain sweep-env python-build
	CARGO="$(CARGO)" AUDIT_PYTHON="$(abspath $(VENV_PY))" scripts/secrets_audit.sh


# ---------------------------------------------------------------- Reliability: fuzzing

.PHONY: fuzz-smoke fuzz-seeds
# Seconds each fuzz target runs in `make fuzz-smoke`.
FUZZ_SECONDS ?= 60
# libFuzzer reports panics and failed properties without a sanitizer; our crates have no `unsafe`, and AddressSanitizer
# would halve the executions per second. FUZZ_SANITIZER=address brings it back.
FUZZ_SANITIZER ?= none

# Rewrites the committed seed corpora (fuzz/seeds/) from tests/conformance and tests/scenarios.
fuzz-seeds:
	$(PYTHON) scripts/fuzz_seeds.py

# Every cargo-fuzz target for FUZZ_SECONDS, then executions per target; non-zero exit on any crash. Installs the
# nightly toolchain and cargo-fuzz when missing.
fuzz-smoke: toolchain
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	CARGO="$(CARGO)" FUZZ_SECONDS="$(FUZZ_SECONDS)" FUZZ_SANITIZER="$(FUZZ_SANITIZER)" scripts/fuzz-smoke.sh


# ---------------------------------------------------------------- Reliability: every check at once

.PHONY: test-reliability test-sweep-fast
# Each part also runs alone (see README "Reliability and security"); this runs them all, slowest last but one.
test-reliability: test-faults test-security test-sweep test-crash-restart fuzz-smoke secrets-audit
	@echo "make test-reliability: every reliability and security check passed"

test-sweep-fast:
	SWEEP_MAX_EXAMPLES=10 $(MAKE) --no-print-directory test-sweep


# ---------------------------------------------------------------- Benchmarks (bench/run.py; the server figures: bench/server/run.sh)

# Every benchmark (P1-P9, bench/README.md): builds and installs what it needs (bench-prep), then bench/run.py prints the
# table and writes bench/results/latest.json. The criterion micro-benchmarks alone are `make bench-core`.
bench: toolchain bench-prep
	$(PYTHON) bench/run.py

# bench/.venv holds the official packages (their import name is also `allowly`), bench/.venv-ours our release wheel;
# both gitignored, each benchmark side runs in its own venv and process. Node comes from scripts/ensure-node.sh.
BENCH_OFFICIAL := bench/.venv
BENCH_OURS := bench/.venv-ours
BENCH_OFFICIAL_PKGS := "allowly==0.3.1" "allowly-receipt-format==4.3.1" "httpx>=0.27,<1"
# The wire-5 reference verifier (P1c/P1b_wire5); it also imports as allowly_receipt_format, hence its own venv.
BENCH_OFFICIAL5 := bench/.venv-rf5
.PHONY: bench-core bench-prep bench-venvs

bench-core: toolchain
	$(CARGO) bench --locked -p allowly-core --bench verify -- --warm-up-time 1 --measurement-time 3

bench-venvs:
	@if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	  echo "installing python3-venv (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; \
	fi
	@test -x $(BENCH_OFFICIAL)/bin/python || $(PYTHON) -m venv $(BENCH_OFFICIAL)
	@$(BENCH_OFFICIAL)/bin/python -c 'import importlib.metadata as m; assert m.version("allowly") == "0.3.1" and m.version("allowly-receipt-format") == "4.3.1"; import httpx' >/dev/null 2>&1 || \
	  $(BENCH_OFFICIAL)/bin/python -m pip install --disable-pip-version-check -q $(BENCH_OFFICIAL_PKGS)
	@test -x $(BENCH_OFFICIAL5)/bin/python || $(PYTHON) -m venv $(BENCH_OFFICIAL5)
	@$(BENCH_OFFICIAL5)/bin/python -c 'import importlib.metadata as m; assert m.version("allowly-receipt-format") == "5.0.0"' >/dev/null 2>&1 || \
	  $(BENCH_OFFICIAL5)/bin/python -m pip install --disable-pip-version-check -q "allowly-receipt-format==5.0.0"
	@test -x $(BENCH_OURS)/bin/python || $(PYTHON) -m venv $(BENCH_OURS)
	@$(BENCH_OURS)/bin/python -c 'import maturin' >/dev/null 2>&1 || \
	  $(BENCH_OURS)/bin/python -m pip install --disable-pip-version-check -q "maturin>=1.9,<2"

# Release builds of everything measured: the CLI (the dev server), the P2 example, our wheel (installed into
# bench/.venv-ours) and the Node addon.
bench-prep: toolchain bench-venvs
	$(CARGO) build --locked --release -p allowly-cli --bin allowly
	$(CARGO) build --locked --release -p allowly-core --example verify_rates
	rm -rf bench/.work/wheels
	$(BENCH_OURS)/bin/maturin build --release --locked -q -m bindings-python/Cargo.toml -o bench/.work/wheels
	@$(call drop-old-dist,$(BENCH_OURS)/bin/python)
	$(BENCH_OURS)/bin/python -m pip install --disable-pip-version-check -q --force-reinstall --no-deps bench/.work/wheels/openallowly-*.whl
	export PATH="$$(scripts/ensure-node.sh):$$PATH"; \
	cd bindings-node && { $(NPM_CI); } && npm run build:release

.PHONY: bench-server bench-scaleout
# P5 (server checks/s, ours and the floor bench/floor, interleaved; open-loop p50/p99/p99.9 at 1k/5k/10k/s; overload
# at 2x saturation), P6 (check -> signed receipt at 1,000/s, fetch_signed) and P7 (MCP proxy added latency) into
# bench/results/parts/P{5,6,7}.json; release builds, installs wrk with apt if missing.
bench-server: toolchain
	CARGO="$(CARGO)" bench/server/run.sh

# P9 alone: one and two allowly serve processes on one durable PostgreSQL (Debian's package, a throwaway cluster),
# checks/s and what each check costs the database, into bench/results/parts/P9.json (bench/README "PostgreSQL").
bench-scaleout: toolchain
	$(CARGO) build --locked --release -p allowly-cli --bin allowly
	ALLOWLY_PG_DURABLE=1 scripts/with-postgres.sh $(PYTHON) bench/server/scaleout.py


# ---------------------------------------------------------------- Packaging and release (mk/*.mk)

# Release artifacts land in $(DIST) (under target/, so `cargo clean` removes them). Each packaging part keeps its
# targets in a file of its own under mk/ (wheels, npm packages, the Kotlin jar and Swift package, the release).
DIST := target/dist
# The packaging tools' venv (mk/tools.mk: zig, maturin, auditwheel, tree-sitter, the linters).
DIST_TOOLS := target/dist-tools/venv
include $(wildcard mk/*.mk)

.PHONY: test-packaging
# The packaging checks of make test (x86_64 only; the aarch64 cross builds are make release-local's): each installs
# its package the way a user does, in a place with no Rust toolchain, and runs the walkthrough or lifecycle with it.
test-packaging: test-wheel test-npm-package test-kotlin-jar test-swift-parse test-release-config
	@echo "make test-packaging: the wheel, the npm tarballs and the Kotlin jar work without Rust; Swift parses; release config lints"
