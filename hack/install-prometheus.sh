#!/usr/bin/env bash
# Prometheus' programs for the tests and the demo, from Debian's packages: `prometheus` (the
# default; promtool comes with it) or `prometheus-alertmanager`, each package's program named as
# the package is. Their services are never started here: tests run their own instances on free
# loopback ports.
set -euo pipefail
PACKAGE=${1:-prometheus}
case "$PACKAGE" in
  prometheus | prometheus-alertmanager) ;;
  *) echo "usage: $0 [prometheus|prometheus-alertmanager]" >&2; exit 2 ;;
esac
if command -v "$PACKAGE" >/dev/null 2>&1; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
echo "[$PACKAGE] installing Debian's $PACKAGE package" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep the package's own service from starting (no init system in containers, and the port is not ours).
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "$PACKAGE" >/dev/null
"$PACKAGE" --version 2>&1 | head -1 >&2
