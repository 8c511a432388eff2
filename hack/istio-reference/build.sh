#!/usr/bin/env bash
# Builds Istio's real injection webhook (istio-webhook), its chart renderer (istio-gen) and its
# istio-iptables from the istio.io/istio module at a pinned version, into the same per-version cache
# as the control plane (see ../build-control-plane.sh). The tests compare the injector with them.
# Built once per machine; a second run only checks the cache.
set -euo pipefail

ISTIO_MODULE_VERSION="${ISTIO_MODULE_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
CACHE_ROOT="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
BIN_DIR="$CACHE_ROOT/istio-reference/$ISTIO_MODULE_VERSION/bin"
WORK_DIR="$CACHE_ROOT/istio-reference/build-$ISTIO_MODULE_VERSION"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
# Two cores and a shared machine: keep the linker's peak memory bounded.
PARALLEL="${BUILD_PARALLELISM:-2}"

log() { printf '[istio-reference] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

case "${1:-}" in
  --print-bin-dir) echo "$BIN_DIR"; exit 0 ;;
  --print-module-dir) cd "$WORK_DIR" && go list -m -f '{{.Dir}}' istio.io/istio; exit 0 ;;
esac

mkdir -p "$BIN_DIR" "$WORK_DIR"
need=()
for b in istio-webhook istio-gen istio-iptables; do
  [[ -x "$BIN_DIR/$b" ]] || need+=("$b")
done
if [[ ${#need[@]} -eq 0 ]]; then echo "$BIN_DIR"; exit 0; fi
command -v go >/dev/null || { log "Go is required to build Istio's reference programs"; exit 1; }
log "building ${need[*]} from istio.io/istio@$ISTIO_MODULE_VERSION into $BIN_DIR (first time: a few minutes on 2 cores)"

rm -rf "$WORK_DIR/cmd"
cp -r "$HERE/cmd" "$WORK_DIR/cmd"
cd "$WORK_DIR"
[[ -f go.mod ]] || go mod init switchboard.dev/istio-reference >/dev/null 2>&1
go get "istio.io/istio@$ISTIO_MODULE_VERSION" >&2
go mod tidy >&2
declare -A package=([istio-webhook]=./cmd/server [istio-gen]=./cmd/gen [istio-iptables]=./cmd/iptables)
for b in "${need[@]}"; do
  started=$(date +%s)
  go build -p "$PARALLEL" -o "$BIN_DIR/$b.tmp" "${package[$b]}"
  mv "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
  log "built $b in $(( $(date +%s) - started )) s"
done
echo "$BIN_DIR"
