#!/usr/bin/env bash
# Builds Flagger's controller from the Go module proxy at a pinned version, into the same
# per-machine cache as the control plane, for the side-by-side controller benchmark.
# Like hack/build-argo-rollouts.sh it builds inside a wrapper module that carries the
# upstream replace block (Flagger v1.36.1 has none today, so the block is empty), so that a
# later pin with replace lines still builds. A lock keeps two concurrent builds apart; a
# second run only checks the cache.
set -euo pipefail

FLAGGER_VERSION="${FLAGGER_VERSION:-v1.36.1}"
# Flagger v1.36.1 asks for go 1.21: the machine's Go is newer and builds it. Set
# FLAGGER_GO_TOOLCHAIN (e.g. go1.26.10) for a pin whose go.mod asks for a newer Go than the
# machine's: the go command then fetches that toolchain from the module proxy.
FLAGGER_GO_TOOLCHAIN="${FLAGGER_GO_TOOLCHAIN:-local}"
CACHE_ROOT="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
OUT_DIR="$CACHE_ROOT/flagger/$FLAGGER_VERSION"
BIN="$OUT_DIR/bin/flagger"
CRD_DIR="$OUT_DIR/crds"
WORK_DIR="$CACHE_ROOT/flagger/build-$FLAGGER_VERSION"
MODULE=github.com/fluxcd/flagger
export GOTOOLCHAIN="$FLAGGER_GO_TOOLCHAIN" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
PARALLEL="${BUILD_PARALLELISM:-2}"

log() { printf '[flagger] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ "${1:-}" == "--print-out-dir" ]]; then echo "$OUT_DIR"; exit 0; fi

command -v flock >/dev/null || { log "flock is required (apt-get install util-linux)"; exit 1; }
mkdir -p "$OUT_DIR/bin" "$WORK_DIR"
exec 9>"$OUT_DIR/.build.lock"
flock 9
if [[ -x "$BIN" && -f "$CRD_DIR/crd.yaml" ]]; then echo "$OUT_DIR"; exit 0; fi
command -v go >/dev/null || { log "Go is required to build Flagger (apt-get install golang-go)"; exit 1; }

log "building flagger $FLAGGER_VERSION into $OUT_DIR (first time: a few minutes on 2 cores)"
modjson=$(cd "$WORK_DIR" && go mod download -json "$MODULE@$FLAGGER_VERSION")
mod_dir=$(printf '%s' "$modjson" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
upstream_gomod=$(printf '%s' "$modjson" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[[ -d "$mod_dir" && -f "$upstream_gomod" ]] || { log "could not download $MODULE@$FLAGGER_VERSION"; exit 1; }
go_version=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$upstream_gomod")

{
  echo "module switchboard.dev/bench/flagger"
  echo
  echo "go ${go_version:-1.21}"
  echo
  echo "require $MODULE $FLAGGER_VERSION"
  echo
  # Flagger's replace lines, if any: single-line replaces and the ( ... ) block.
  awk '
    /^replace \($/ { inblock = 1; print "replace ("; next }
    inblock && /^\)$/ { inblock = 0; print ")"; next }
    inblock { print; next }
    /^replace / { print }
  ' "$upstream_gomod"
} > "$WORK_DIR/go.mod"
# Flagger's own go.sum pins the versions it was released with; start from it.
cp "$mod_dir/go.sum" "$WORK_DIR/go.sum"
chmod u+w "$WORK_DIR/go.sum"

(cd "$WORK_DIR" && log "resolving modules" && go get "$MODULE/cmd/flagger@$FLAGGER_VERSION" >/dev/null)
log "compiling (-p $PARALLEL)"
(cd "$WORK_DIR" && go build -p "$PARALLEL" -trimpath -ldflags "-s -w" -o "$BIN.tmp" "$MODULE/cmd/flagger")
mv "$BIN.tmp" "$BIN"

# One file holds the three CRDs: Canary, MetricTemplate and AlertProvider.
mkdir -p "$CRD_DIR"
cp "$mod_dir/artifacts/flagger/crd.yaml" "$CRD_DIR/crd.yaml"
chmod -R u+w "$CRD_DIR"
log "built $BIN"
echo "$OUT_DIR"
