#!/usr/bin/env bash
# Builds the krew archive of `kubectl switchboard` and renders the krew manifest for it.
#   plugins/krew/package.sh BASE_URL [HOMEPAGE]
# BASE_URL is where the archive will be downloaded from (without the file name). Writes
# dist/krew/kubectl-switchboard-vVERSION.tar.gz and dist/krew/switchboard.yaml.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
base_url="${1:?usage: plugins/krew/package.sh BASE_URL [HOMEPAGE]}"
homepage="${2:-$base_url}"
node="$root/node_modules/.bin/node"
version="$("$node" -p "require('$root/package.json').version")"
out="$root/dist/krew"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# The CLI as built JavaScript, the Istio CRDs analyze judges against, and production dependencies.
(cd "$root" && "$node" node_modules/typescript/bin/tsc -p tsconfig.build.json)
mkdir -p "$stage/crds" "$out"
cp -R "$root/dist/." "$stage/dist"
rm -rf "$stage/dist/krew"
cp -R "$root/crds/istio" "$stage/crds/istio"
cp "$root/package.json" "$root/package-lock.json" "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
cat > "$stage/kubectl-switchboard" <<'LAUNCHER'
#!/bin/sh
# kubectl finds this as the `switchboard` plugin; the CLI itself is Node.js.
here="$(dirname "$(readlink -f "$0" 2>/dev/null || echo "$0")")"
exec node "$here/dist/cli/main.js" "$@"
LAUNCHER
chmod +x "$stage/kubectl-switchboard"

# Same content, same bytes: fixed order, times and owners, gzip without a timestamp.
archive="$out/kubectl-switchboard-v$version.tar.gz"
tar -C "$stage" --sort=name --mtime='2000-01-01 00:00Z' --owner=0 --group=0 --numeric-owner -cf - . | gzip -n > "$archive"
sha256="$(sha256sum "$archive" | cut -d' ' -f1)"

VERSION="$version" HOMEPAGE="$homepage" ARCHIVE_URL="$base_url/$(basename "$archive")" ARCHIVE_SHA256="$sha256" \
  "$node" -e '
    const fs = require("node:fs");
    const text = fs.readFileSync(process.argv[1], "utf8").replace(/^#.*\n/gm, "");
    fs.writeFileSync(process.argv[2], text.replace(/\$\{(\w+)\}/g, (_, name) => process.env[name] ?? ""));
  ' "$root/plugins/krew/switchboard.yaml" "$out/switchboard.yaml"
echo "$archive ($sha256)"
echo "$out/switchboard.yaml"
