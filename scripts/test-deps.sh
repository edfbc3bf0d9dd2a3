#!/usr/bin/env bash
# Non-Python test dependencies: the TimescaleDB engine and the OpenID provider (npm), PostGIS
# for the system PostgreSQL (vector tiles by ST_AsMVT), headless Chromium and QGIS (Debian;
# QGIS's own OGC API - Features provider is tested as planners use it).
# Installed when missing and when we may; otherwise the tests that need them say why they skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v npm >/dev/null && [ ! -d tests/timescale/node_modules ]; then
  npm ci --prefix tests/timescale --no-audit --no-fund --loglevel=error || echo "npm ci failed: TimescaleDB tests will skip" >&2
fi

if command -v npm >/dev/null && [ ! -d tests/oidc/node_modules ]; then
  npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error || echo "npm ci failed: OpenID provider tests will skip" >&2
fi

if [ -d /usr/share/postgresql/15 ] && [ ! -f /usr/share/postgresql/15/extension/postgis.control ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 >/dev/null \
      || echo "apt-get could not install PostGIS: tiles are built without it on the system server too" >&2
  else
    echo "PostGIS not installed and not root: the ST_AsMVT tile path will not be tested" >&2
  fi
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
      || echo "apt-get could not install chromium: map rendering tests will skip" >&2
  else
    echo "chromium not installed and not root: map rendering tests will skip" >&2
  fi
fi

if ! /usr/bin/python3 -c "import qgis.core" 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-qgis qgis-providers >/dev/null \
      || echo "apt-get could not install QGIS: the QGIS test will fail in CI, skip elsewhere" >&2
  else
    echo "QGIS (python3-qgis) not installed and not root: the QGIS test will skip" >&2
  fi
fi
