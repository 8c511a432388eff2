#!/usr/bin/env bash
# Fetches Istio's published API module (istio.io/api) from the Go module proxy at a pinned version
# and caches its CRD bundle, kubernetes/customresourcedefinitions.gen.yaml, outside the repository
# (next to the control-plane binaries, under SWITCHBOARD_CACHE). Prints the cached file's path.
# A second run only checks the cache. The integration tests install Istio's CRDs from this file,
# and hack/update-istio-crds.ts regenerates crds/istio/ from it.
set -euo pipefail

# Istio 1.28's API. Changing it: edit this line, run hack/update-istio-crds.ts, commit crds/istio/.
ISTIO_API_VERSION="v1.28.3"
CACHE_ROOT="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
CACHE_DIR="$CACHE_ROOT/istio-api/$ISTIO_API_VERSION"
CRD_FILE="$CACHE_DIR/customresourcedefinitions.gen.yaml"

log() { printf '[istio-api] %s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

case "${1:-}" in
  --print-version) echo "$ISTIO_API_VERSION"; exit 0 ;;
  --print-file) echo "$CRD_FILE"; exit 0 ;;
  "") ;;
  *) log "unknown argument $1 (use --print-version, --print-file or nothing)"; exit 2 ;;
esac

if [[ -s "$CRD_FILE" ]]; then echo "$CRD_FILE"; exit 0; fi
command -v go >/dev/null || { log "Go is required to fetch istio.io/api from the module proxy (apt-get install golang-go)"; exit 1; }
log "downloading istio.io/api@$ISTIO_API_VERSION from the Go module proxy"
mkdir -p "$CACHE_DIR"
# Outside any module, so that no go.mod around the caller changes what is resolved.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
modjson=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "istio.io/api@$ISTIO_API_VERSION")
if grep -q '"Error"' <<<"$modjson"; then log "go mod download failed: $modjson"; exit 1; fi
dir=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$modjson")
source_file="$dir/kubernetes/customresourcedefinitions.gen.yaml"
[[ -s "$source_file" ]] || { log "istio.io/api@$ISTIO_API_VERSION has no kubernetes/customresourcedefinitions.gen.yaml"; exit 1; }
# Copy then rename: a concurrent reader never sees half a file.
cp "$source_file" "$CRD_FILE.tmp.$$"
chmod 0644 "$CRD_FILE.tmp.$$"
mv "$CRD_FILE.tmp.$$" "$CRD_FILE"
log "cached $CRD_FILE"
echo "$CRD_FILE"
