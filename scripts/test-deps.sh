#!/usr/bin/env bash
# Non-Python test dependencies: the TimescaleDB engine (npm) and headless Chromium (Debian).
# Installed when missing and when we may; otherwise the tests that need them say why they skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v npm >/dev/null && [ ! -d tests/timescale/node_modules ]; then
  npm ci --prefix tests/timescale --no-audit --no-fund --loglevel=error || echo "npm ci failed: TimescaleDB tests will skip" >&2
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
      || echo "apt-get could not install chromium: map rendering tests will skip" >&2
  else
    echo "chromium not installed and not root: map rendering tests will skip" >&2
  fi
fi
