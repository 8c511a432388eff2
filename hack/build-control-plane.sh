#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok
# from the Go module proxy at pinned versions, into a per-version cache outside the repo.
# Release download sites are not reachable from our build machines, so nothing is fetched
# from them. Each binary is built once per machine; a second run only checks the cache.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE_ROOT="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
BIN_DIR="$CACHE_ROOT/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin"
WORK_DIR="$CACHE_ROOT/control-plane/build"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
# Two cores and a shared machine: keep the linker's peak memory bounded.
PARALLEL="${BUILD_PARALLELISM:-2}"

log() { printf '[control-plane] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ "${1:-}" == "--print-bin-dir" ]]; then echo "$BIN_DIR"; exit 0; fi

missing() {
  need=()
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
    [[ -x "$BIN_DIR/$b" ]] || need+=("$b")
  done
  [[ ${#need[@]} -gt 0 ]]
}

mkdir -p "$BIN_DIR" "$WORK_DIR"
if ! missing; then echo "$BIN_DIR"; exit 0; fi

# Two checkouts may run this at once on a machine without the cache: one builds, the other waits
# for it and then finds the binaries. The work directory and its go.mod files are shared, so the
# whole build holds the lock. Binaries are still written to a private directory and renamed into
# place, so a reader never sees half a binary.
LOCK_FILE="$CACHE_ROOT/control-plane/build.lock"
exec {lock_fd}>"$LOCK_FILE"
if ! flock -n "$lock_fd"; then
  log "another build of the control plane is running (lock $LOCK_FILE); waiting for it"
  flock "$lock_fd"
fi
if ! missing; then echo "$BIN_DIR"; exit 0; fi
STAGING_DIR=$(mktemp -d "$BIN_DIR/.build.XXXXXX")
trap 'rm -rf "$STAGING_DIR"' EXIT
install_binary() { mv -f "$STAGING_DIR/$1" "$BIN_DIR/$1"; }
command -v go >/dev/null || { log "Go is required to build the control plane (apt-get install golang-go)"; exit 1; }
log "building ${need[*]} into $BIN_DIR (first time on this machine: expect 20-40 minutes on 2 cores)"

wants() { [[ " ${need[*]} " == *" $1 "* ]]; }

build_kubernetes() {
  local dir="$WORK_DIR/kubernetes-$K8S_VERSION"
  mkdir -p "$dir"
  local modjson kdir
  modjson=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION")
  kdir=$(printf '%s' "$modjson" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  local staging_version="v0${K8S_VERSION#v1}"
  {
    echo "module switchboard.dev/control-plane/kubernetes"
    echo
    grep -E '^go [0-9]' "$kdir/go.mod"
    grep -E '^godebug' "$kdir/go.mod" || true
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    grep -E '=> \./staging/' "$kdir/go.mod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > "$dir/go.mod"
  cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  (cd "$dir" && log "resolving Kubernetes $K8S_VERSION modules" && go mod tidy -e >/dev/null 2>&1 || true)
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    wants "$b" || continue
    log "building $b $K8S_VERSION"
    (cd "$dir" && go build -p "$PARALLEL" -trimpath -tags tools -ldflags "$ldflags" -o "$STAGING_DIR/$b" "k8s.io/kubernetes/cmd/$b")
    install_binary "$b"
    log "built $b"
  done
}

build_etcd() {
  wants etcd || return 0
  local dir="$WORK_DIR/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat > "$dir/go.mod" <<GOMOD
module switchboard.dev/control-plane/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  log "building etcd $ETCD_VERSION"
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  (cd "$dir" && go build -p "$PARALLEL" -trimpath -ldflags "-s -w" -o "$STAGING_DIR/etcd" go.etcd.io/etcd/server/v3)
  install_binary etcd
  log "built etcd"
}

build_kwok() {
  wants kwok || return 0
  log "building kwok $KWOK_VERSION"
  GOBIN="$STAGING_DIR" go install -p "$PARALLEL" -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  local kdir
  kdir=$(cd "$WORK_DIR" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$BIN_DIR/../kwok-stages"
  cp -r "$kdir/kustomize/stage/." "$BIN_DIR/../kwok-stages/"
  chmod -R u+w "$BIN_DIR/../kwok-stages"
  # The stages first: the harness takes a present kwok binary to mean a complete kwok.
  install_binary kwok
  log "built kwok"
}

build_etcd
build_kwok
build_kubernetes
echo "$BIN_DIR"
