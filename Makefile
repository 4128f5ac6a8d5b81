# The two commands a newcomer runs are `make demo` and `make test`; everything else is optional.
# Each target installs what it needs; nothing here assumes a manual setup step.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= $(shell command -v cargo 2>/dev/null || echo $$HOME/.cargo/bin/cargo)
export CARGO_TERM_COLOR ?= never

.PHONY: demo test test-rust test-sqlite test-node lint fmt bench toolchain build-cli clean help

help:
	@echo "make demo   - run the Allowly lifecycle end to end against a local allowly serve --dev"
	@echo "make test   - run every test (Rust core, CLI, conformance vectors; the server on SQLite and PostgreSQL)"
	@echo "make test-sqlite - the Rust tests without PostgreSQL (its variants are skipped)"
	@echo "make test-node - the Node binding (@allowly/sdk): build the addon, node --test, tsc (installs Node 20+ if needed)"
	@echo "make bench  - run the micro-benchmarks (release build; not part of make test)"
	@echo "make lint   - rustfmt check + clippy with warnings as errors"

toolchain:
	@test -x "$(CARGO)" || { echo "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
	@$(CARGO) --version

build-cli: toolchain
	$(CARGO) build --locked -p allowly-cli

# demo.sh builds the CLI and the walkthrough example itself, so it also runs on its own.
demo: toolchain
	CARGO="$(CARGO)" scripts/demo.sh

test: toolchain lint test-rust test-node
	@echo "make test: all suites passed"

# The server suite runs on SQLite and on a throwaway PostgreSQL that the script installs (apt) and starts if needed.
test-rust: toolchain
	scripts/with-postgres.sh $(CARGO) test --locked --workspace

test-sqlite: toolchain
	env -u ALLOWLY_TEST_PG_URL -u ALLOWLY_TEST_REQUIRE_PG $(CARGO) test --locked --workspace

# Installs Node 20+ if it is missing (scripts/ensure-node.sh) and the package's locked devDependencies, builds the
# addon and the allowly binary the end-to-end tests start, then runs node --test and the type test.
test-node: toolchain
	export PATH="$$(scripts/ensure-node.sh):$$PATH"; \
	$(CARGO) build --locked -p allowly-cli; \
	cd bindings-node; \
	if [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi; \
	npm run build; \
	npm test; \
	npm run typecheck

lint: toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench: toolchain
	$(CARGO) bench --locked -p allowly-core --bench verify -- --warm-up-time 1 --measurement-time 3

clean:
	$(CARGO) clean
