#!/usr/bin/env bash
# Runs the image against a local control plane, as config/manager/manager.yaml runs it in a
# cluster (command, args, env, security context, limits: hack/image/pod-run-args.ts), with the
# switchboard-controller ServiceAccount's own token and RBAC as its in-cluster credentials, on the
# host network so that the API server on 127.0.0.1 and the container reach each other. Checks:
#   1. /readyz answers 200 (certificate loaded, informers synced);
#   2. the API server, through a webhook configuration pointing at the container's HTTPS port and
#      trusting a CA made here, gets istio-init and istio-proxy injected into a pod;
#   3. it refuses a pod that runs as UID 1337, with the injector's message;
#   4. the controller takes its leader-election Lease.
# Builds the image first (cached: seconds when nothing changed). Everything it starts is stopped
# and removed on exit, failed or not.
set -euo pipefail
LOG_TAG=image-test
# shellcheck source=hack/image/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE="${IMAGE:-switchboard:$(package_version)}"
MANIFEST="$IMAGE_ROOT_DIR/config/manager/manager.yaml"
NAMESPACE=switchboard-system
POD_NAME="switchboard-controller-image-test-$$"
TEST_NAMESPACE=image-test
NODE="$IMAGE_ROOT_DIR/node_modules/.bin/node"
[[ $# -eq 0 ]] || { log "unknown argument $1 (the image comes from IMAGE, default switchboard:VERSION)"; exit 2; }

need_root
need_commands podman "$OCI_RUNTIME" openssl
[[ -x "$NODE" ]] || die "$NODE is missing: run make deps (npm ci) in $IMAGE_ROOT_DIR first"
cd "$IMAGE_ROOT_DIR"
KUBECTL="$(hack/build-control-plane.sh)/kubectl"
hack/image/build.sh >/dev/null

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-image-test.XXXXXX")
CLUSTER_DIR="$WORK/cluster"
started_container=false
cleanup() {
  local rc=$?
  trap - EXIT
  if $started_container; then
    if [[ $rc -ne 0 ]]; then
      local kept
      kept=$(mktemp "${TMPDIR:-/tmp}/switchboard-image-test.XXXXXX.log")
      podman logs "$POD_NAME" >"$kept" 2>&1 || true
      log "the container's last lines (all of its log: $kept):"
      tail -n 8 "$kept" | cut -c1-300 >&2
    fi
    podman rm --force --time 10 "$POD_NAME" >/dev/null 2>&1 || log "could not remove container $POD_NAME: podman rm -f $POD_NAME"
  fi
  if [[ -d "$CLUSTER_DIR" ]]; then
    timeout 60 "$NODE" test/harness/cli.ts down --dir "$CLUSTER_DIR" >/dev/null 2>&1 \
      || log "could not stop the control plane: $NODE test/harness/cli.ts down --dir $CLUSTER_DIR"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

kubectl() { timeout 60 "$KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" --cache-dir "$WORK/kube-cache" "$@"; }
# The API server's warnings about the CRDs' schemas are noise here; on failure all is printed.
quietly() {
  local output
  output=$("$@" 2>&1) || { printf '%s\n' "$output" >&2; die "$* failed (its output is above)"; }
}

container_running() {
  [[ "$(podman container inspect --format '{{.State.Running}}' "$POD_NAME" 2>/dev/null)" == true ]]
}

# Polls COMMAND until it succeeds: what it waits for happens in other processes, at their pace.
#   eventually SECONDS DESCRIPTION COMMAND...
eventually() {
  local seconds=$1 description=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@"; do
    if $started_container && ! container_running; then
      die "the container exited while waiting for: $description"
    fi
    ((SECONDS < deadline)) || die "waited ${seconds}s, in vain, for: $description"
    sleep 1
  done
}

log "starting a local control plane"
up=$(timeout 300 "$NODE" test/harness/cli.ts up --dir "$CLUSTER_DIR") \
  || die "the local control plane did not start; see $CLUSTER_DIR/supervisor.log"
ADMIN_KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' <<<"$up")
API_SERVER=$(kubectl config view --minify --output 'jsonpath={.clusters[0].cluster.server}')

log "installing the CRDs, namespace and RBAC the manager runs with"
quietly kubectl apply -k config/crd
quietly kubectl apply -f crds/istio/networking.istio.io_virtualservices.yaml \
  -f crds/istio/networking.istio.io_destinationrules.yaml
quietly kubectl apply -f config/base/namespace.yaml
quietly kubectl apply --namespace "$NAMESPACE" -k config/rbac
# The local control plane runs istiod, so istio-system may exist already.
kubectl create namespace istio-system --dry-run=client -o yaml | quietly kubectl apply -f -
quietly kubectl apply -k config/istio-access
quietly kubectl wait --for condition=Established --timeout 30s crd/rollouts.switchboard.dev \
  crd/virtualservices.networking.istio.io crd/destinationrules.networking.istio.io

# What the kubelet mounts for the ServiceAccount, and what cert-manager or
# webhook-certs/install.sh put in the switchboard-webhook-tls Secret; world-readable as the
# kubelet's default modes make them, so that UID 1000 reads them.
SA_DIR="$WORK/serviceaccount"
CERT_DIR="$WORK/certs"
ISTIOD_TOKEN_DIR="$WORK/istiod-token"
mkdir -p "$SA_DIR" "$CERT_DIR" "$ISTIOD_TOKEN_DIR"
kubectl --namespace "$NAMESPACE" create token switchboard-controller --duration 1h >"$SA_DIR/token"
# The projected token the manager sends to istiod: audience istio-ca, as the manifest asks.
kubectl --namespace "$NAMESPACE" create token switchboard-controller --duration 1h --audience istio-ca >"$ISTIOD_TOKEN_DIR/token"
kubectl config view --raw --minify --output 'jsonpath={.clusters[0].cluster.certificate-authority-data}' \
  | base64 -d >"$SA_DIR/ca.crt"
printf '%s' "$NAMESPACE" >"$SA_DIR/namespace"
openssl_quiet() { openssl "$@" 2>>"$WORK/openssl.log" >/dev/null || die "openssl $1 failed: $(tail -n 5 "$WORK/openssl.log")"; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=switchboard-image-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$WORK/ca.key" -out "$CERT_DIR/ca.crt"
openssl_quiet req -newkey rsa:2048 -nodes -subj /CN=switchboard-webhook \
  -keyout "$CERT_DIR/tls.key" -out "$WORK/tls.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$WORK/tls.ext"
openssl_quiet x509 -req -in "$WORK/tls.csr" -CA "$CERT_DIR/ca.crt" -CAkey "$WORK/ca.key" \
  -CAcreateserial -days 1 -extfile "$WORK/tls.ext" -out "$CERT_DIR/tls.crt"
chmod 0755 "$SA_DIR" "$CERT_DIR" "$ISTIOD_TOKEN_DIR"
chmod 0644 "$SA_DIR"/* "$CERT_DIR"/* "$ISTIOD_TOKEN_DIR"/*

# Three loopback ports at once, so that they differ; the container's host network shares them.
read -r WEBHOOK_PORT METRICS_PORT HEALTH_PORT < <("$NODE" -e '
  const net = require("node:net");
  const servers = [0, 1, 2].map(() => net.createServer().listen(0, "127.0.0.1"));
  Promise.all(servers.map((s) => new Promise((r) => s.on("listening", r)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" "));
    servers.forEach((s) => s.close());
  });')
[[ -n "${HEALTH_PORT:-}" ]] || die "could not find three free loopback ports with $NODE"

run_args=$("$NODE" hack/image/pod-run-args.ts --manifest "$MANIFEST" --image "$IMAGE" \
  --pod-name "$POD_NAME" --namespace "$NAMESPACE" --api-server "$API_SERVER" \
  --service-account-dir "$SA_DIR" --volume "certs=$CERT_DIR" --volume "istiod-token=$ISTIOD_TOKEN_DIR" \
  --port "webhook=$WEBHOOK_PORT" --port "metrics=$METRICS_PORT" --port "health=$HEALTH_PORT") \
  || die "could not translate $MANIFEST into podman run arguments (above)"
mapfile -t run_args <<<"$run_args"

log "running $IMAGE as $MANIFEST runs it (webhook on 127.0.0.1:$WEBHOOK_PORT)"
# Rootful podman raises the open-file and process limits to about a million by default, which
# needs CAP_SYS_RESOURCE; a machine that is itself a container may not have it. The manager needs
# far fewer than these.
started_container=true
timeout 120 podman run --detach --runtime "$OCI_RUNTIME" --network host --pull never \
  --ulimit nofile=16384:16384 --ulimit nproc=4096:4096 "${run_args[@]}" >/dev/null \
  || die "podman run of $IMAGE failed (above)"

ready() { "$NODE" -e 'fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' \
  "http://127.0.0.1:$HEALTH_PORT/readyz"; }
eventually 120 "/readyz on 127.0.0.1:$HEALTH_PORT answers 200" ready
log "ready: /readyz answers 200"

CA_BUNDLE=$(base64 -w0 <"$CERT_DIR/ca.crt")
webhook_configuration() {
  local kind=$1 name=$2 path=$3 operations=$4
  cat <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: $kind
metadata: { name: switchboard-image-test }
webhooks:
  - name: $name
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig: { url: "https://127.0.0.1:$WEBHOOK_PORT$path", caBundle: "$CA_BUNDLE" }
    namespaceSelector: { matchLabels: { istio-injection: enabled } }
    rules:
      - { apiGroups: [""], apiVersions: [v1], operations: $operations, resources: [pods], scope: Namespaced }
YAML
}
{
  webhook_configuration MutatingWebhookConfiguration inject.switchboard.dev /inject '[CREATE]'
  echo ---
  webhook_configuration ValidatingWebhookConfiguration validate.switchboard.dev /validate '[CREATE, UPDATE]'
} | kubectl apply -f - >/dev/null
kubectl create namespace "$TEST_NAMESPACE" >/dev/null
kubectl label namespace "$TEST_NAMESPACE" istio-injection=enabled >/dev/null

pod() {
  local name=$1 security=$2
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: { name: $name, namespace: $TEST_NAMESPACE }
spec:
  containers:
    - { name: app, image: registry.example/app:1, securityContext: $security }
YAML
}
container_names() { kubectl "$@" --output 'jsonpath={.spec.initContainers[*].name} {.spec.containers[*].name}'; }
injected() { [[ " $1 " == *" istio-init "* && " $1 " == *" istio-proxy "* ]]; }

# The API server picks up new webhook configurations a moment after they are stored: wait until a
# server-side dry run (which calls the webhooks) is injected, then check a real pod once.
dry_run_injected() { injected "$(pod app-dry-run '{}' | container_names create --dry-run=server -f - 2>/dev/null)"; }
eventually 60 "a dry-run pod in namespace $TEST_NAMESPACE is injected" dry_run_injected
pod app '{}' | kubectl create -f - >/dev/null
names=$(container_names --namespace "$TEST_NAMESPACE" get pod app)
injected "$names" || die "pod $TEST_NAMESPACE/app was stored with containers '$names': no istio-init and istio-proxy"
log "injected: pod $TEST_NAMESPACE/app has $names"

refusal=$(pod app-1337 '{ runAsUser: 1337 }' | kubectl create -f - 2>&1) \
  && die "pod $TEST_NAMESPACE/app-1337 (runAsUser 1337) was admitted; the injector must refuse it"
[[ "$refusal" == *"denied the request"* && "$refusal" == *1337* ]] \
  || die "pod $TEST_NAMESPACE/app-1337 was refused, but not by the injector: $refusal"
log "refused: runAsUser 1337: ${refusal#*denied the request: }"

lease_holder() { kubectl --namespace "$NAMESPACE" get lease switchboard-controller \
  --output 'jsonpath={.spec.holderIdentity}' 2>/dev/null; }
holds_lease() { [[ "$(lease_holder)" == "$POD_NAME" ]]; }
eventually 60 "Lease $NAMESPACE/switchboard-controller is held by $POD_NAME" holds_lease
log "leader: Lease $NAMESPACE/switchboard-controller held by $POD_NAME"
log "passed: $IMAGE serves admission and leads, as $MANIFEST runs it"
