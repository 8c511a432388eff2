#!/usr/bin/env bash
# Builds Argo Rollouts' controller from the Go module proxy at a pinned version, into the
# same per-machine cache as the control plane, for the side-by-side controller benchmark.
# `go install pkg@version` refuses modules whose go.mod has `replace` lines, so a wrapper
# module carries Argo's own replace block. A lock keeps two concurrent builds apart; a
# second run only checks the cache.
set -euo pipefail

ARGO_ROLLOUTS_VERSION="${ARGO_ROLLOUTS_VERSION:-v1.10.2}"
# Argo's go.mod asks for a newer patch release than the machine's Go; the go command
# fetches that toolchain from the module proxy.
ARGO_GO_TOOLCHAIN="${ARGO_GO_TOOLCHAIN:-go1.26.10}"
CACHE_ROOT="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
OUT_DIR="$CACHE_ROOT/argo-rollouts/$ARGO_ROLLOUTS_VERSION"
BIN="$OUT_DIR/bin/rollouts-controller"
CRD_DIR="$OUT_DIR/crds"
WORK_DIR="$CACHE_ROOT/argo-rollouts/build-$ARGO_ROLLOUTS_VERSION"
MODULE=github.com/argoproj/argo-rollouts
export GOTOOLCHAIN="$ARGO_GO_TOOLCHAIN" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
PARALLEL="${BUILD_PARALLELISM:-2}"

log() { printf '[argo-rollouts] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ "${1:-}" == "--print-out-dir" ]]; then echo "$OUT_DIR"; exit 0; fi

mkdir -p "$OUT_DIR/bin" "$WORK_DIR"
exec 9>"$OUT_DIR/.build.lock"
flock 9
if [[ -x "$BIN" && -f "$CRD_DIR/rollout-crd.yaml" ]]; then echo "$OUT_DIR"; exit 0; fi
command -v go >/dev/null || { log "Go is required to build Argo Rollouts (apt-get install golang-go)"; exit 1; }
command -v flock >/dev/null || { log "flock is required (apt-get install util-linux)"; exit 1; }

log "building rollouts-controller $ARGO_ROLLOUTS_VERSION into $OUT_DIR (first time: a few minutes on 2 cores)"
modjson=$(cd "$WORK_DIR" && go mod download -json "$MODULE@$ARGO_ROLLOUTS_VERSION")
mod_dir=$(printf '%s' "$modjson" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
upstream_gomod=$(printf '%s' "$modjson" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[[ -d "$mod_dir" && -f "$upstream_gomod" ]] || { log "could not download $MODULE@$ARGO_ROLLOUTS_VERSION"; exit 1; }

{
  echo "module switchboard.dev/bench/argo-rollouts"
  echo
  echo "go ${ARGO_GO_TOOLCHAIN#go}"
  echo
  echo "require $MODULE $ARGO_ROLLOUTS_VERSION"
  echo
  # Argo's replace block, verbatim in meaning: single-line replaces and the ( ... ) block.
  awk '
    /^replace \($/ { inblock = 1; print "replace ("; next }
    inblock && /^\)$/ { inblock = 0; print ")"; next }
    inblock { print; next }
    /^replace / { print }
  ' "$upstream_gomod"
} > "$WORK_DIR/go.mod"
rm -f "$WORK_DIR/go.sum"

(cd "$WORK_DIR" && log "resolving modules" && go get "$MODULE/cmd/rollouts-controller@$ARGO_ROLLOUTS_VERSION" >/dev/null)
log "compiling (-p $PARALLEL)"
(cd "$WORK_DIR" && go build -p "$PARALLEL" -trimpath -ldflags "-s -w" -o "$BIN.tmp" "$MODULE/cmd/rollouts-controller")
mv "$BIN.tmp" "$BIN"

mkdir -p "$CRD_DIR"
cp "$mod_dir"/manifests/crds/*.yaml "$CRD_DIR/"
chmod -R u+w "$CRD_DIR"
log "built $BIN"
echo "$OUT_DIR"
