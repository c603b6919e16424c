# The two commands: `make demo` (the whole system, locally) and `make test` (every check and test).
# Everything else here is a step of those two, or an extra (`make chaos`, `make bench`).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
export AWS_DEFAULT_REGION ?= us-east-1
export CARGO_TERM_COLOR ?= never

.PHONY: help demo test setup setup-deploy release build lint unit checks e2e deny chaos bench replay load figures sam-build actions generate upgrade-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

demo: ## set up, build and run the whole pipeline locally on embedded defaults
	bash local/setup.sh
	$(PY) local/demo.py

test: setup lint build unit checks e2e ## every check and test (what CI runs)
	@echo "make test: all checks and tests passed"

setup: ## install pinned tools: .venv (pip), node_modules (npm), .tools (cargo-deny, cargo-machete, cargo-hakari)
	bash scripts/setup.sh

setup-deploy: ## only what building from source and deploying need: SAM CLI, cargo-lambda and Zig into .venv
	bash scripts/setup.sh deploy

build: ## debug build of every binary and test (the one build the tests use)
	cargo build --workspace --all-targets

lint: setup ## rustfmt, clippy (warnings are errors), unused dependencies (cargo-machete), workspace-hack current
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	.tools/bin/cargo-machete $(filter-out crates/workspace-hack,$(wildcard crates/*))
	@# The workspace-hack (one feature set per shared dependency) is current and every crate depends on it; a
	@# dependency change needs `PATH=.tools/bin:$$PATH cargo hakari generate` (make generate runs it).
	PATH="$(CURDIR)/.tools/bin:$$PATH" cargo hakari generate --diff
	PATH="$(CURDIR)/.tools/bin:$$PATH" cargo hakari manage-deps --dry-run

unit: build ## unit, property, and integration tests (binaries through the Runtime API, moto, stand-ins)
	cargo test --workspace --no-fail-fast

checks: setup ## fixtures, generated parts (fresh), Genesys action files (fresh and linted), SAM template, state machine, licences
	$(PY) events/check_events.py
	cargo run -q -p generate --bin gcx-generate -- --check
	$(MAKE) --no-print-directory upgrade-check UPGRADE_CHECK_ARGS=--skip-unknown-ref
	cargo run -q -p generate --bin gcx-actions -- check
	$(VENV)/bin/pytest -q tests/template tests/local
	$(MAKE) deny

FROM ?=
upgrade-check: setup ## fail, naming it, when deploying this tree over FROM (a git ref; default the last release) would lose a stateful resource or a parameter
	$(PY) local/upgrade_check.py $(if $(FROM),--from $(FROM)) $(UPGRADE_CHECK_ARGS)

deny: ## licences, bans and sources of every dependency (advisories need the network: left out)
	.tools/bin/cargo-deny check licenses bans sources

e2e: setup build ## end-to-end tests on the local stack (moto + cargo lambda watch + bridge + stand-ins)
	$(VENV)/bin/pytest -q tests/e2e

chaos: setup build ## 500 events with duplicates, reordering and injected faults: lost = 0, duplicated = 0
	$(PY) local/chaos.py

EVENTS ?= events/eventbridge
replay: setup build ## run real events through the local pipeline: make replay EVENTS=path [ARGS="--report r.json"]
	$(PY) local/replay.py $(EVENTS) $(ARGS)

load: setup ## generate the documented load: 2,000 conversations, 22,000 events (local/.run/load)
	$(PY) local/loadgen.py --conversations 2000 --pace-ms 50 --out local/.run/load

FIGURES_RATE ?= 50
figures: load build ## the documented figures run: `make load`, batches filled as at 200 events/s (bench/replay.json, .html, .png)
	@# One moto process carries every AWS service and takes about 50 events/s here; the fanout batching window is
	@# stretched by the same factor (--batches-as-at), so executions fill as at 200 events/s. Enrichment runs on the
	@# template's own delays and windows (not the local stack's short ones), as it would deployed.
	$(PY) local/replay.py local/.run/load --rate $(FIGURES_RATE) --batches-as-at 200 \
	  --parameter EnrichDelaySeconds=60 --parameter EnrichBatchWindowSeconds=30 \
	  --parameter EnrichRetrySeconds=30 --parameter EnrichUnavailableRetrySeconds=10 --not-indexed-share 0.1 \
	  --timeout 1800 --report local/.run/figures.json --html bench/replay.html $(ARGS)
	@# The committed copy leaves out the 2,000 stored items (local/.run/figures.json has everything).
	$(PY) -c 'import json,sys; r=json.load(open("local/.run/figures.json")); r["records"]=len(r["records"]); json.dump(r,open("bench/replay.json","w"),indent=2); print("bench/replay.json written")'
	$(PY) local/capacity.py --write

bench: ## release build, every function through the Runtime API; table + bench/results.json (ARGS=--strict|--arm64)
	bash scripts/bench.sh $(ARGS)

sam-build: setup-deploy ## arm64 release build of every function into .aws-sam (not part of make test; needs the aarch64 target)
	rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build $(ARGS)

release: ## dist/<version>/: a bundle deployable without Rust (arm64 zips, template, SHA256SUMS, SBOM, Genesys files)
	bash scripts/setup.sh release
	rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/.tools/bin:$$PATH" $(PY) scripts/release.py $(ARGS)

actions: ## write every data action's Genesys files from the code (import files, schemas, Terraform)
	cargo run -q -p generate --bin gcx-actions -- write

generate: setup actions ## write everything derived: template parameters, docs tables, catalogue, pipeline fixtures, Genesys files, capacity, workspace-hack
	PATH="$(CURDIR)/.tools/bin:$$PATH" cargo hakari generate
	PATH="$(CURDIR)/.tools/bin:$$PATH" cargo hakari manage-deps --yes
	cargo run -q -p generate --bin gcx-generate
	UPDATE_CATALOGUE=1 cargo test -q -p system-tests --test error_names >/dev/null
	UPDATE_FIXTURES=1 cargo test -q -p system-tests --test pipeline_fixtures >/dev/null
	$(PY) local/capacity.py --write
	@echo "make generate: done (git diff shows what changed)"

clean: ## remove build output and installed tools
	cargo clean
	rm -rf $(VENV) node_modules .tools .aws-sam dist
