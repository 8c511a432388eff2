#!/usr/bin/env bash
# Builds the repository's Dockerfile, unchanged, with buildah: no Docker daemon and no container
# registry. The base it names comes from build-base.sh; --pull=never makes sure that base, and
# nothing from a registry, is used. `npm ci` inside the build reaches the npm registry the way
# this machine's own npm does (registry, proxy and CA from its npm configuration, mounted into the
# RUN steps only, never into the image). Layers are cached, so an unchanged tree builds in seconds.
# Prints the image's name.
set -euo pipefail
LOG_TAG=image
# shellcheck source=hack/image/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE="${IMAGE:-switchboard:$(package_version)}"
[[ "$IMAGE" != "switchboard:" ]] || die "no version in $IMAGE_ROOT_DIR/package.json: set IMAGE=NAME:TAG"
[[ $# -eq 0 ]] || { log "unknown argument $1 (the image name comes from IMAGE, default switchboard:VERSION)"; exit 2; }
case "$IMAGE" in
  node:* | */node:*) die "IMAGE=$IMAGE would replace the base image the Dockerfile builds on: choose another name" ;;
esac

need_root
need_commands buildah "$OCI_RUNTIME"
"$IMAGE_ROOT_DIR/hack/image/build-base.sh" >/dev/null

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The machine's npm settings that decide whether the registry can be reached at all: a mirror, a
# proxy, or a private CA (a TLS-inspecting proxy). Without them `npm ci` in the build fails where
# `npm ci` on the machine works. Global npmrc of the image's npm: /usr/local/etc/npmrc.
npm_build_volumes=()
npm_setting() {
  local value
  command -v npm >/dev/null || return 0
  value=$(npm config get "$1" 2>/dev/null) || return 0
  [[ -n "$value" && "$value" != null && "$value" != undefined ]] && echo "$value"
  return 0
}
prepare_npm_config() {
  local registry cafile key value
  registry=$(npm_setting registry)
  cafile=$(npm_setting cafile)
  cafile="${cafile:-${NODE_EXTRA_CA_CERTS:-}}"
  : >"$WORK/npmrc"
  [[ -n "$registry" && "$registry" != https://registry.npmjs.org/ ]] && echo "registry=$registry" >>"$WORK/npmrc"
  for key in proxy https-proxy noproxy; do
    value=$(npm_setting "$key")
    [[ -n "$value" ]] && echo "$key=$value" >>"$WORK/npmrc"
  done
  if [[ -n "$cafile" ]]; then
    [[ -r "$cafile" ]] || die "npm's cafile $cafile (npm config get cafile, or NODE_EXTRA_CA_CERTS) is not readable"
    cp "$cafile" "$WORK/npm-ca.crt"
    echo "cafile=/usr/local/etc/npm-ca.crt" >>"$WORK/npmrc"
    npm_build_volumes+=(--volume "$WORK/npm-ca.crt:/usr/local/etc/npm-ca.crt:ro")
  fi
  [[ -s "$WORK/npmrc" ]] && npm_build_volumes+=(--volume "$WORK/npmrc:/usr/local/etc/npmrc:ro")
  # The machine's npm cache, which `npm ci --prefer-offline` in the build reads before the registry:
  # packages the machine already has are not downloaded again (volumes reach RUN steps only).
  local cache
  cache=$(npm_setting cache)
  [[ -n "$cache" && -d "$cache" ]] && npm_build_volumes+=(--volume "$cache:/root/.npm:rw")
  return 0
}
prepare_npm_config

log "building $IMAGE from $IMAGE_ROOT_DIR/Dockerfile"
started=$SECONDS
BUILD_LOG="$WORK/build.log"
# Host network: the RUN steps only need the npm registry, and no bridge or NAT has to be set up on
# a machine that may not allow it.
rc=0
timeout --kill-after=30 1800 buildah bud --pull=never --layers --force-rm --runtime "$OCI_RUNTIME" --network host \
  "${npm_build_volumes[@]}" --iidfile "$WORK/iid" -f "$IMAGE_ROOT_DIR/Dockerfile" -t "$IMAGE" \
  "$IMAGE_ROOT_DIR" >"$BUILD_LOG" 2>&1 || rc=$?
if [[ $rc -ne 0 ]]; then
  tail -n 60 "$BUILD_LOG" >&2
  kept=$(mktemp "${TMPDIR:-/tmp}/switchboard-image-build.XXXXXX.log")
  cp "$BUILD_LOG" "$kept"
  [[ $rc -eq 124 ]] && die "buildah bud of $IMAGE_ROOT_DIR/Dockerfile took longer than 30 minutes (log: $kept)"
  die "buildah bud of $IMAGE_ROOT_DIR/Dockerfile failed, exit code $rc: the step and its error are above (log: $kept)"
fi
log "built $IMAGE (image $(head -c 19 "$WORK/iid" | sed 's/^sha256://'), $((SECONDS - started))s)"
echo "$IMAGE"
