#!/usr/bin/env bash
# Chromium for the dashboard's browser tests, from Debian's package: playwright-core drives it by
# its path (/usr/bin/chromium), and no browser is ever downloaded from elsewhere.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
echo "[chromium] installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version 2>&1 | head -1 >&2
