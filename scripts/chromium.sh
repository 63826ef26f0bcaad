#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver for the web UI's browser tests
# (tests/manager/ui), when they are missing. Idempotent; needs root to install.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "installing chromium and chromium-driver needs root; install them yourself and re-run" >&2
    exit 1
fi
LOG="${TMPDIR:-/tmp}/dm-chromium-apt.log"
echo "installing chromium and chromium-driver (log: $LOG)"
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends chromium chromium-driver; } >>"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    exit 1
fi
