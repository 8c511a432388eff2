#!/usr/bin/env bash
# Removes Switchboard in the order that strands neither pods nor Rollouts (docs/install.md,
# "Uninstalling"). `kubectl delete -k config/default` does not: it deletes the controller that must
# remove the Rollouts' finalizer, and the CRD then hangs in Terminating.
#   1. both webhook configurations: from here on no pod creation waits for Switchboard;
#   2. every Rollout, while the controller still runs: it sends their traffic back to stable,
#      keeps <name>-stable (deletionPolicy KeepStable, the default) and removes the finalizer;
#   3. the rest: the manager, its Services, RBAC, certificates, the namespace and the CRD.
# It stops before step 3 while Rollouts remain. Needs kubectl.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd -P)"
NAMESPACE=switchboard-system
DEPLOYMENT=switchboard-controller
FINALIZER=switchboard.dev/traffic-restore
TIMEOUT=300
KUBECTL=("${KUBECTL:-kubectl}")

usage() {
  cat <<USAGE
usage: $0 [--timeout SECONDS] [--kubeconfig FILE]
  --timeout     how long to wait for the controller to finish the Rollouts (default $TIMEOUT)
  --kubeconfig  passed to kubectl
USAGE
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --kubeconfig) KUBECTL+=("--kubeconfig=$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || { echo "config/uninstall.sh: --timeout must be a whole number of seconds, not '$TIMEOUT'" >&2; exit 2; }

step() { printf '[uninstall] %s\n' "$*" >&2; }
fail() { printf 'config/uninstall.sh: %s\n' "$*" >&2; exit 1; }
k() { "${KUBECTL[@]}" "$@"; }
command -v "${KUBECTL[0]}" >/dev/null || fail "${KUBECTL[0]} not found: install kubectl, or set KUBECTL to its path"

step "1/3 deleting the webhook configurations: pod creation no longer depends on Switchboard"
k delete mutatingwebhookconfiguration switchboard-injector --ignore-not-found >&2
k delete validatingwebhookconfiguration switchboard-proxy-uid-guard --ignore-not-found >&2

rollouts() {
  k get rollouts.switchboard.dev --all-namespaces \
    -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}'
}

if k get crd rollouts.switchboard.dev -o name >/dev/null 2>&1; then
  remaining=$(rollouts)
  if [[ -n "$remaining" ]]; then
    ready=$(k -n "$NAMESPACE" get deployment "$DEPLOYMENT" --ignore-not-found -o jsonpath='{.status.readyReplicas}')
    [[ "${ready:-0}" -ge 1 ]] || fail "$(echo "$remaining" | wc -l | tr -d ' ') Rollouts exist and no replica of deployment $NAMESPACE/$DEPLOYMENT is Ready, so nobody would remove their finalizer $FINALIZER (and the CRD would hang in Terminating). Bring the controller back (kubectl -n $NAMESPACE get pods; config/install.sh), then run this again. Only if it cannot run: remove each finalizer by hand, which skips the traffic restore (docs/install.md, \"Emergency\"). Nothing but the webhooks was deleted."
    step "2/3 deleting $(echo "$remaining" | wc -l | tr -d ' ') Rollouts while the controller runs: their traffic goes back to stable first"
    k delete rollouts.switchboard.dev --all --all-namespaces --wait=false >&2
    deadline=$((SECONDS + TIMEOUT))
    while remaining=$(rollouts) && [[ -n "$remaining" ]]; do
      if (( SECONDS >= deadline )); then
        echo "$remaining" | while IFS=/ read -r ns name; do
          printf '  %s/%s: %s\n' "$ns" "$name" "$(k -n "$ns" get rollouts.switchboard.dev "$name" -o jsonpath='{.status.phase}: {.status.message}' 2>/dev/null)" >&2
        done
        fail "these Rollouts still hold the finalizer $FINALIZER after ${TIMEOUT}s (above: their phase and message; kubectl describe rollouts.switchboard.dev -n NS NAME shows the controller's Events). The rest of Switchboard was kept so that the controller can finish; fix what the messages say, or run this again with a longer --timeout."
      fi
      sleep 2
    done
  else
    step "2/3 no Rollouts left"
  fi
else
  step "2/3 the Rollout CRD is not installed; no Rollouts to finish"
fi

# The objects of step 1: config/default names cert-manager's kinds, which only resolve where
# cert-manager is installed; without it, the same objects minus those.
if k get crd certificates.cert-manager.io -o name >/dev/null 2>&1; then overlay=default; else overlay=without-cert-manager; fi
step "3/3 deleting the manager, its Services, RBAC, certificates, the namespace and the CRD (config/$overlay)"
k delete -k "$HERE/$overlay" --ignore-not-found --timeout="${TIMEOUT}s" >&2

step "done. What stays: each Rollout's <name>-stable Deployment (deletionPolicy KeepStable), running and without an owner: kubectl get deployments -A -l switchboard.dev/track=stable; a spec.workloadRef Deployment stays scaled to 0; VirtualServices keep 100% on the stable subset; pods keep the sidecars they were created with. The CA of webhook-certs/install.sh stays on this machine (webhook-certs/ca/)."
