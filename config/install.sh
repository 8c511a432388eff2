#!/usr/bin/env bash
# The staged install (docs/install.md), what `make deploy IMG=...` runs. In order:
#   1. the CRD, RBAC, the manager and its Services (config/default, or config/without-cert-manager),
#      with the image you name: the manifests' own image is a placeholder that is never pulled;
#   2. without cert-manager, the serving certificate (webhook-certs/install.sh), unless it exists;
#   3. waits until every replica of the manager is Ready and the webhook Service has a ready endpoint;
#   4. registers both webhooks (config/webhook-cert-manager, or config/webhook) with ca.crt of the
#      serving Secret as their caBundle, in that same apply: no call is ever made to a webhook the
#      API server cannot trust.
# When step 3 times out nothing is registered, so pod creation is exactly as it was before.
# Running it again upgrades in place. Needs kubectl (and openssl without cert-manager).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd -P)"
# Fixed by the manifests: the namespace, the objects' names and the image placeholder.
NAMESPACE=switchboard-system
DEPLOYMENT=switchboard-controller
SERVICE=switchboard-webhook
SECRET=switchboard-webhook-tls
PLACEHOLDER=image-not-set.invalid/switchboard
FIELD_MANAGER=switchboard-install

IMAGE=""
CERT_MANAGER=true
TIMEOUT=300
PROMETHEUS_URL=""
CA_DIR="$HERE/../webhook-certs/ca"
KUBECTL=("${KUBECTL:-kubectl}")
CERT_ARGS=()

usage() {
  cat <<USAGE
usage: $0 --image REGISTRY/switchboard:TAG [--without-cert-manager] [--prometheus-url URL]
          [--timeout SECONDS] [--ca-dir DIR] [--kubeconfig FILE]
  --image                 the image you built and pushed (docker build -t REGISTRY/switchboard:TAG .)
  --without-cert-manager  make the serving certificate with webhook-certs/install.sh instead
  --prometheus-url        the Prometheus canary analysis queries (default: Istio's sample addon,
                          http://prometheus.istio-system:9090)
  --timeout               how long to wait for the manager to be Ready (default $TIMEOUT)
  --ca-dir                without cert-manager: where the CA is kept between runs (default $CA_DIR)
  --kubeconfig            passed to kubectl
USAGE
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --image) IMAGE="$2"; shift 2 ;;
    --without-cert-manager) CERT_MANAGER=false; shift ;;
    --prometheus-url) PROMETHEUS_URL="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --ca-dir) CA_DIR="$2"; shift 2 ;;
    --kubeconfig) KUBECTL+=("--kubeconfig=$2"); CERT_ARGS+=(--kubeconfig "$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

step() { printf '[install] %s\n' "$*" >&2; }
fail() { printf 'config/install.sh: %s\n' "$*" >&2; exit 1; }
k() { "${KUBECTL[@]}" "$@"; }

[[ -n "$IMAGE" ]] || { echo "config/install.sh: --image is required: no registry publishes Switchboard's image; build it (docker build -t REGISTRY/switchboard:TAG .), push it where your nodes pull from, and name it here" >&2; usage >&2; exit 2; }
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || { echo "config/install.sh: --timeout must be a whole number of seconds, not '$TIMEOUT'" >&2; exit 2; }
[[ -z "$PROMETHEUS_URL" || "$PROMETHEUS_URL" =~ ^https?://[^[:space:]\"\\]+$ ]] \
  || { echo "config/install.sh: --prometheus-url must be an http:// or https:// URL without spaces or quotes, not '$PROMETHEUS_URL'" >&2; exit 2; }

# REGISTRY/NAME:TAG or REGISTRY/NAME@DIGEST; a registry's :port is not a tag.
image_name="$IMAGE" image_tag="" image_digest=""
if [[ "$IMAGE" == *@* ]]; then
  image_name="${IMAGE%%@*}" image_digest="${IMAGE#*@}"
elif [[ "${IMAGE##*/}" == *:* ]]; then
  image_name="${IMAGE%:*}" image_tag="${IMAGE##*:}"
fi
[[ -n "$image_tag$image_digest" ]] || fail "--image $IMAGE has no tag or digest, so the nodes would pull :latest; name the version you pushed, e.g. $IMAGE:0.1.0"
[[ "$image_name" != *.invalid/* && "$image_name" != *.invalid ]] || fail "--image $IMAGE is in the reserved .invalid domain, which never resolves; name the registry you pushed to"

command -v "${KUBECTL[0]}" >/dev/null || fail "${KUBECTL[0]} not found: install kubectl, or set KUBECTL to its path"
if $CERT_MANAGER; then
  k get crd certificates.cert-manager.io issuers.cert-manager.io -o name >/dev/null 2>&1 \
    || fail "cert-manager is not installed in this cluster (no certificates.cert-manager.io or issuers.cert-manager.io CRD): install it first (https://cert-manager.io/docs/installation/), or run with --without-cert-manager, which makes the certificate with webhook-certs/install.sh. Nothing was applied."
  STEP1=default STEP2=webhook-cert-manager
else
  command -v openssl >/dev/null || fail "openssl is required without cert-manager (apt-get install openssl); nothing was applied"
  STEP1=without-cert-manager STEP2=webhook
fi

work=$(cd "$(mktemp -d)" && pwd -P)
trap 'rm -rf "$work"' EXIT

# Step 1 through an overlay of our own, so the checkout's files stay as they are. Kustomize takes
# no absolute path to a base: climb from the overlay to / and down to this directory.
mkdir "$work/manager"
up=$(echo "$work/manager" | sed -e 's|/[^/]*|../|g')
{
  echo "resources:"
  echo "  - $up${HERE#/}/$STEP1"
  echo "images:"
  echo "  - name: $PLACEHOLDER"
  echo "    newName: $image_name"
  [[ -n "$image_tag" ]] && echo "    newTag: \"$image_tag\""
  [[ -n "$image_digest" ]] && echo "    digest: $image_digest"
  if [[ -n "$PROMETHEUS_URL" ]]; then
    echo "patches:"
    echo "  - patch: |-"
    echo "      apiVersion: apps/v1"
    echo "      kind: Deployment"
    echo "      metadata: { name: $DEPLOYMENT, namespace: $NAMESPACE }"
    echo "      spec: { template: { spec: { containers: [ { name: manager, env: [ { name: PROMETHEUS_URL, value: \"$PROMETHEUS_URL\" } ] } ] } } }"
  fi
} > "$work/manager/kustomization.yaml"
step "1/4 applying config/$STEP1 with image $IMAGE (no webhook configuration yet)"
k apply --server-side --force-conflicts --field-manager="$FIELD_MANAGER" -k "$work/manager" >&2

if ! $CERT_MANAGER; then
  if k -n "$NAMESPACE" get secret "$SECRET" -o name >/dev/null 2>&1; then
    step "2/4 secret $NAMESPACE/$SECRET exists; kept (renew it with webhook-certs/install.sh)"
  else
    step "2/4 making the serving certificate with webhook-certs/install.sh (CA in $CA_DIR)"
    "$HERE/../webhook-certs/install.sh" --namespace "$NAMESPACE" --dir "$CA_DIR" "${CERT_ARGS[@]}"
  fi
else
  step "2/4 cert-manager issues the serving certificate into secret $NAMESPACE/$SECRET"
fi

not_ready() {
  k -n "$NAMESPACE" get pods -l app.kubernetes.io/name=switchboard -o wide >&2 || true
  k -n "$NAMESPACE" get events --field-selector type=Warning --sort-by=.lastTimestamp 2>/dev/null | tail -n 12 >&2 || true
  fail "$1, so the webhooks were NOT registered and pod creation is unaffected. The Warning events above say why; the usual causes:
  - ErrImagePull or ImagePullBackOff: $IMAGE cannot be pulled; push it where the nodes pull from (or add an imagePullSecret) and run this again;
  - FailedMount of secret $SECRET: the serving certificate does not exist yet; with cert-manager: kubectl -n $NAMESPACE describe certificate $SECRET; without: webhook-certs/install.sh;
  - FailedCreate or FailedScheduling: a quota, a policy or the cluster's capacity keeps the pods from starting.
Fix it and run this again (docs/troubleshooting.md)."
}

step "3/4 waiting up to ${TIMEOUT}s for deployment/$DEPLOYMENT to be Ready"
k -n "$NAMESPACE" rollout status "deployment/$DEPLOYMENT" --timeout="${TIMEOUT}s" >&2 \
  || not_ready "the manager is not Ready after ${TIMEOUT}s"
# The API server calls the Service, not the pods: wait until it has a ready endpoint as well.
deadline=$((SECONDS + 60))
until [[ -n "$(k -n "$NAMESPACE" get endpointslices -l "kubernetes.io/service-name=$SERVICE" \
  -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{"\n"}{end}')" ]]; do
  (( SECONDS < deadline )) || not_ready "service $NAMESPACE/$SERVICE has no ready endpoint although the Deployment is Ready"
  sleep 2
done

ca_bundle=$(k -n "$NAMESPACE" get secret "$SECRET" -o jsonpath='{.data.ca\.crt}' 2>/dev/null || true)
[[ -n "$ca_bundle" ]] || fail "secret $NAMESPACE/$SECRET has no ca.crt, so the API server could not trust the webhooks; they were NOT registered. With cert-manager: kubectl -n $NAMESPACE describe certificate $SECRET; without: webhook-certs/install.sh"
# Every webhook gets the caBundle in the same apply that creates it. awk, not sed: BSD sed on a
# Mac cannot insert a line.
k kustomize "$HERE/$STEP2" | awk -v ca="$ca_bundle" '
  { print }
  /^ *clientConfig:$/ { match($0, /^ */); printf "%s  caBundle: %s\n", substr($0, 1, RLENGTH), ca }
' > "$work/webhooks.yaml"
[[ $(grep -c 'caBundle:' "$work/webhooks.yaml") -eq $(grep -c 'clientConfig:' "$work/webhooks.yaml") ]] \
  || fail "could not set the caBundle of every webhook in config/$STEP2; nothing was registered"
step "4/4 registering the webhooks (config/$STEP2)"
k apply --server-side --force-conflicts --field-manager="$FIELD_MANAGER" -f "$work/webhooks.yaml" >&2

istiod_injectors=$(k get mutatingwebhookconfigurations -l app=sidecar-injector -o name 2>/dev/null || true)
if [[ -n "$istiod_injectors" ]]; then
  step "note: istiod's injector is registered too ($(echo $istiod_injectors | tr '\n' ' ')): both inject, and pod creation in mesh namespaces now needs both to answer; docs/install.md says how to hand injection over to Switchboard alone"
fi
step "done. Check: kubectl -n NAMESPACE run injection-check --image=busybox --dry-run=server -o jsonpath='{.spec.containers[*].name}' (in a mesh namespace: istio-proxy is listed). To back out: config/uninstall.sh"
