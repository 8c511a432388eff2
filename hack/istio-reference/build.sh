#!/usr/bin/env bash
# Builds Istio's programs from the istio.io/istio module at a pinned version, into the same
# per-version cache as the control plane (see ../build-control-plane.sh):
#   istio-webhook, istio-gen, istio-iptables  Istio's injection webhook, chart renderer and
#                                             istio-iptables, which the injector is compared with;
#   pilot-discovery                           istiod itself, which the local control plane runs;
#   xds-sidecar                               a simulated sidecar that follows istiod's pushes.
# Built once per machine; a second run only checks the cache. A program of ours (./cmd/*) is
# built again when its sources change. With names as arguments, only those are built.
set -euo pipefail

ISTIO_MODULE_VERSION="${ISTIO_MODULE_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
CACHE_ROOT="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
BIN_DIR="$CACHE_ROOT/istio-reference/$ISTIO_MODULE_VERSION/bin"
WORK_DIR="$CACHE_ROOT/istio-reference/build-$ISTIO_MODULE_VERSION"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
# Two cores and a shared machine: keep the linker's peak memory bounded.
PARALLEL="${BUILD_PARALLELISM:-2}"
ALL=(istio-webhook istio-gen istio-iptables pilot-discovery xds-sidecar)
declare -A package=([istio-webhook]=./cmd/server [istio-gen]=./cmd/gen [istio-iptables]=./cmd/iptables
  [pilot-discovery]=istio.io/istio/pilot/cmd/pilot-discovery [xds-sidecar]=./cmd/sidecar)

log() { printf '[istio-reference] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

case "${1:-}" in
  --print-bin-dir) echo "$BIN_DIR"; exit 0 ;;
  --print-module-dir) cd "$WORK_DIR" && go list -m -f '{{.Dir}}' istio.io/istio; exit 0 ;;
esac
wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=("${ALL[@]}")
for b in "${wanted[@]}"; do
  [[ -n "${package[$b]:-}" ]] || { log "unknown program $b; known: ${ALL[*]}"; exit 2; }
done

# The sources a program of ours is built from; empty for Istio's own.
sources_of() {
  local pkg="${package[$1]}"
  [[ "$pkg" == ./cmd/* ]] || return 0
  (cd "$HERE" && find "${pkg#./}" -type f -name '*.go' | sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}

# A binary without a stamp predates stamps: it was built from the sources at hand.
stale() {
  local b="$1" stamp="$BIN_DIR/.$1.sources"
  [[ -x "$BIN_DIR/$b" ]] || return 0
  local current; current="$(sources_of "$b")"
  [[ -n "$current" ]] || return 1
  [[ -f "$stamp" ]] || { echo "$current" >"$stamp"; return 1; }
  [[ "$(cat "$stamp")" != "$current" ]]
}

missing() {
  need=()
  for b in "${wanted[@]}"; do
    if stale "$b"; then need+=("$b"); fi
  done
  [[ ${#need[@]} -gt 0 ]]
}

mkdir -p "$BIN_DIR" "$WORK_DIR"
if ! missing; then echo "$BIN_DIR"; exit 0; fi

# Two test runs may need a build at once; the work directory and its go.mod are shared, so the
# whole build holds the lock, and whoever waited finds the binaries built.
LOCK_FILE="$CACHE_ROOT/istio-reference/build.lock"
exec {lock_fd}>"$LOCK_FILE"
if ! flock -n "$lock_fd"; then
  log "another build of Istio's programs is running (lock $LOCK_FILE); waiting for it"
  flock "$lock_fd"
fi
if ! missing; then echo "$BIN_DIR"; exit 0; fi
command -v go >/dev/null || { log "Go is required to build Istio's programs"; exit 1; }
log "building ${need[*]} from istio.io/istio@$ISTIO_MODULE_VERSION into $BIN_DIR (istiod or a webhook from scratch: minutes on 2 cores)"

rm -rf "$WORK_DIR/cmd"
cp -r "$HERE/cmd" "$WORK_DIR/cmd"
cd "$WORK_DIR"
[[ -f go.mod ]] || go mod init switchboard.dev/istio-reference >/dev/null 2>&1
go get "istio.io/istio@$ISTIO_MODULE_VERSION" >&2
go mod tidy >&2
# istiod and the simulated sidecar both say they are this version of Istio.
istio_version="$(cat "$(go list -m -f '{{.Dir}}' istio.io/istio)/VERSION")"
declare -A ldflags=([pilot-discovery]="-s -w -X istio.io/istio/pkg/version.buildVersion=$istio_version"
  [xds-sidecar]="-X main.istioVersion=$istio_version")
for b in "${need[@]}"; do
  started=$(date +%s)
  go build -p "$PARALLEL" -ldflags "${ldflags[$b]:-}" -o "$BIN_DIR/$b.tmp" "${package[$b]}"
  mv "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
  stamp="$(sources_of "$b")"
  if [[ -n "$stamp" ]]; then echo "$stamp" >"$BIN_DIR/.$b.sources"; fi
  log "built $b in $(( $(date +%s) - started )) s"
done
echo "$BIN_DIR"
