#!/usr/bin/env bash
# Prometheus for the rollout integration tests and the demo, from Debian's package.
# Its service is never started here: tests run their own instance on a free loopback port.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
echo "[prometheus] installing Debian's prometheus package" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep the package's own service from starting (no init system in containers, and the port is not ours).
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
prometheus --version 2>&1 | head -1 >&2
