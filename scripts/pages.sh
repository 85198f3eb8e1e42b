#!/usr/bin/env bash
# The public pages and the staff dashboard in a real headless Chromium (Debian's chromium and chromium-driver, installed
# here when missing) against a local Vouch of their own; screenshots in target/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "pages: install chromium and chromium-driver (apt-get install chromium chromium-driver)"
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
fi
export SE_AVOID_STATS=true
exec scripts/with-local.sh bash -c '.venv/bin/python scripts/pages/check.py && .venv/bin/python scripts/pages/dashboard.py'
