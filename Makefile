# Everything a fresh machine needs is installed by these targets themselves.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
NODE := node_modules/.bin/node
NPM_STAMP := node_modules/.package-lock.stamp
CLUSTER_DIR ?= $(CURDIR)/.cluster

.PHONY: help deps build lint typecheck unit integration test control-plane prometheus chromium openssl \
        istio-api istio-reference \
        alertmanager cluster-up cluster-down demo bench run install deploy image image-test clean

help:
	@echo "make demo        start a local control plane and run the demo"
	@echo "make test        install, build, lint, unit and integration tests"
	@echo "make cluster-up  start a local control plane in the background (prints KUBECONFIG=...)"
	@echo "make cluster-down stop it"
	@echo "make bench       run the benchmarks"
	@echo "make image       build switchboard:VERSION with buildah, no Docker or registry (root; docs/image.md)"
	@echo "make image-test  run the image against a local control plane (root; podman)"

$(NPM_STAMP): package.json package-lock.json
	@# The machine's Node may be older than 22: npm warns about engines, but everything runs on
	@# node_modules/.bin/node (the "node" package), so those warnings are noise.
	npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(NPM_STAMP)

build: deps
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.build.json
	$(NODE) hack/build-dashboard.ts

typecheck: deps
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
	$(NODE) node_modules/typescript/bin/tsc -p src/dashboard/web/tsconfig.json

lint: deps typecheck
	$(NODE) node_modules/eslint/bin/eslint.js .

unit: deps prometheus alertmanager control-plane
	$(NODE) node_modules/vitest/vitest.mjs run --project unit

# Go-built etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok,
# cached under ~/.cache/switchboard; skipped when KUBECONFIG or KUBEBUILDER_ASSETS is given.
control-plane:
	@if [[ -z "$${KUBECONFIG_FOR_TESTS:-}" && -z "$${KUBEBUILDER_ASSETS:-}" ]]; then hack/build-control-plane.sh >/dev/null; fi

# Istio's CRDs for the integration tests: istio.io/api from the Go module proxy, pinned and cached.
istio-api:
	@hack/fetch-istio-api.sh >/dev/null

# istiod (pilot-discovery), the simulated sidecar and Istio's reference programs (injection handler,
# chart renderer, istio-iptables), built from the pinned istio.io/istio module and cached. Built
# here rather than in the tests, so that a first build (minutes) is bounded by no test timeout.
istio-reference:
	@hack/istio-reference/build.sh >/dev/null

prometheus:
	@command -v prometheus >/dev/null || hack/install-prometheus.sh

# The unit tests send notifications to a real Alertmanager and check how it groups them.
alertmanager:
	@command -v prometheus-alertmanager >/dev/null || hack/install-prometheus.sh prometheus-alertmanager

# Headless Chromium for the dashboard's browser tests (test/integration/dashboard.test.ts).
chromium:
	@command -v chromium >/dev/null || hack/install-chromium.sh

# Certificates for the local control plane and the webhook are made with openssl.
openssl:
	@command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }

integration: deps openssl control-plane prometheus chromium istio-api istio-reference
	$(NODE) test/harness/integration-lanes.ts

test: deps lint build unit integration

cluster-up: deps openssl control-plane istio-reference
	@$(NODE) test/harness/cli.ts up --dir $(CLUSTER_DIR)

cluster-down: deps
	@$(NODE) test/harness/cli.ts down --dir $(CLUSTER_DIR)

demo: deps build openssl control-plane istio-reference prometheus
	$(NODE) hack/demo.ts

bench: deps
	$(NODE) bench/run.ts $(BENCH)

# kubebuilder's habits, against the cluster kubectl points at (KUBECONFIG; KUBECTL=path for another
# kubectl). `make install` adds the Rollout CRD only. `make deploy IMG=REGISTRY/switchboard:TAG` is
# the staged install, config/install.sh: the manager first, the webhooks once it is Ready
# (docs/install.md); WITHOUT_CERT_MANAGER=1 and PROMETHEUS_URL=URL are passed on.
install:
	$${KUBECTL:-kubectl} apply --server-side --field-manager=switchboard-install -k config/crd

deploy:
	@[[ -n "$(IMG)" ]] || { echo "make deploy needs IMG=REGISTRY/switchboard:TAG, the image you built and pushed (docker build -t REGISTRY/switchboard:TAG .); see docs/install.md" >&2; exit 2; }
	config/install.sh --image '$(IMG)' $(if $(WITHOUT_CERT_MANAGER),--without-cert-manager) $(if $(PROMETHEUS_URL),--prometheus-url '$(PROMETHEUS_URL)')

# The Dockerfile built with buildah: its node:24-slim base from Debian's mirror and the npm
# registry, cached under ~/.cache/switchboard. Needs root. docs/image.md
image:
	hack/image/build.sh

# The image run as config/manager/manager.yaml runs it, against a local control plane. Needs root
# and podman, so it is its own target; .ci/run runs it after make test.
image-test: deps openssl control-plane istio-reference
	hack/image/test.sh

clean:
	rm -rf dist coverage .cluster
