# Everything a fresh machine needs is installed by these targets themselves.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
NODE := node_modules/.bin/node
NPM_STAMP := node_modules/.package-lock.stamp
CLUSTER_DIR ?= $(CURDIR)/.cluster

.PHONY: help deps build lint typecheck unit integration test control-plane prometheus openssl \
        istio-api \
        cluster-up cluster-down demo bench run install deploy clean

help:
	@echo "make demo        start a local control plane and run the demo"
	@echo "make test        install, build, lint, unit and integration tests"
	@echo "make cluster-up  start a local control plane in the background (prints KUBECONFIG=...)"
	@echo "make cluster-down stop it"
	@echo "make bench       run the benchmarks"

$(NPM_STAMP): package.json package-lock.json
	@# The machine's Node may be older than 22: npm warns about engines, but everything runs on
	@# node_modules/.bin/node (the "node" package), so those warnings are noise.
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(NPM_STAMP)

build: deps
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.build.json

typecheck: deps
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json --noEmit

lint: deps typecheck
	$(NODE) node_modules/eslint/bin/eslint.js .

unit: deps
	$(NODE) node_modules/vitest/vitest.mjs run --project unit

# Go-built etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok,
# cached under ~/.cache/switchboard; skipped when KUBECONFIG or KUBEBUILDER_ASSETS is given.
control-plane:
	@if [[ -z "$${KUBECONFIG_FOR_TESTS:-}" && -z "$${KUBEBUILDER_ASSETS:-}" ]]; then hack/build-control-plane.sh >/dev/null; fi

# Istio's CRDs for the integration tests: istio.io/api from the Go module proxy, pinned and cached.
istio-api:
	@hack/fetch-istio-api.sh >/dev/null

prometheus:
	@command -v prometheus >/dev/null || hack/install-prometheus.sh

# Certificates for the local control plane and the webhook are made with openssl.
openssl:
	@command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }

integration: deps openssl control-plane prometheus istio-api
	$(NODE) node_modules/vitest/vitest.mjs run --project integration

test: deps lint build unit integration

cluster-up: deps openssl control-plane
	@$(NODE) test/harness/cli.ts up --dir $(CLUSTER_DIR)

cluster-down: deps
	@$(NODE) test/harness/cli.ts down --dir $(CLUSTER_DIR)

demo: deps build openssl control-plane prometheus
	$(NODE) hack/demo.ts

bench: deps
	$(NODE) bench/run.ts $(BENCH)

clean:
	rm -rf dist coverage .cluster
