# Sourced by the scripts beside it: logging, root, the container tools, time limits.
# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this file

IMAGE_ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_ROOT="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
IMAGE_CACHE="$CACHE_ROOT/image"

log() { printf '[%s] %s %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# debootstrap, chroot and the image store under /var/lib/containers all need root; a rootless
# store would also be a different store, so that the image built by one user is not the other's.
need_root() {
  [[ $EUID -eq 0 ]] || die "$0 must run as root (debootstrap and the image store need it): sudo $0"
}

# runc, as Docker has it: it runs on cgroup v1, v2 and the hybrid of both (crun, Debian's default
# for podman, refuses the hybrid that machines which are themselves containers often have).
OCI_RUNTIME="${OCI_RUNTIME:-runc}"

# Installs the Debian packages that provide the given commands, once, only if one is missing.
need_commands() {
  local missing=() command package
  for command in "$@"; do
    command -v "$command" >/dev/null && continue
    case "$command" in
      buildah | podman | debootstrap | runc) package="$command" ;;
      openssl) package=openssl ;;
      *) die "$command is required and not installable here: install it and run $0 again" ;;
    esac
    missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || die "${missing[*]} missing and there is no apt-get: install ${missing[*]}"
  log "installing ${missing[*]} with apt-get"
  apt-get update -qq >/dev/null || die "apt-get update failed: check /etc/apt/sources.list*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed: run it by hand to see why"
}

# Runs a step under a time limit; on failure prints the tail of its log and exits.
#   step SECONDS LOGFILE DESCRIPTION -- COMMAND...
step() {
  local seconds=$1 logfile=$2 description=$3
  shift 4
  local rc=0
  timeout --kill-after=30 "$seconds" "$@" >>"$logfile" 2>&1 || rc=$?
  [[ $rc -eq 0 ]] && return 0
  tail -n 40 "$logfile" >&2
  if [[ $rc -eq 124 ]]; then die "$description took longer than ${seconds}s (log: $logfile)"; fi
  die "$description failed with exit code $rc (log: $logfile)"
}

# The image's version is the package's: one number for npm, the CLI and the image tag.
package_version() {
  sed -n 's/^  "version": "\([^"]*\)",$/\1/p' "$IMAGE_ROOT_DIR/package.json"
}
