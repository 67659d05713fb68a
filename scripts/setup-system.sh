#!/usr/bin/env bash
# Debian packages the full test suite uses (run as root): chromium and chromium-driver for the
# demo page's browser tests, redis-server for the shared frame store's tests. Without them those
# tests skip and print why; nothing else needs them.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
