#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when they are missing:
#   - a Java 17 runtime, for PySpark in local mode (Spark parity tests)
#   - PostgreSQL server binaries, for the catalog tests on a real server
#   - Chromium, for the Playwright browser tests (Debian's build, not a downloaded one)
#   - a CJK font, so pages, screenshots and PDF reports show Chinese text
#   - poppler-utils (pdftoppm), to render a PDF report page to PNG in a test
# With --bench also wrk, the C load generator of the web benchmarks (`make bench`).
set -euo pipefail

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need+=(postgresql)
fi
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils poppler-data)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
if [ "${1:-}" = "--bench" ]; then
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "system-deps: all present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "system-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
