#!/usr/bin/env bash
# Installs everything the tests need (Debian's Chromium for browser tests, pinned pip packages),
# then runs the linters, the type checker and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# Chromium drives the browser tests; PostgreSQL 15 runs the portability tests (a throwaway cluster);
# poppler-utils (pdftoppm) and zbar-tools (zbarimg) render invoice PDFs and read their payment QR codes back;
# NGINX fronts two app servers in the deployment test (tests/browser/test_deployment.py); podman, buildah and
# debootstrap build and run the container image (tests/test_image.py).
if ! command -v chromium >/dev/null 2>&1 || [ ! -x /usr/lib/postgresql/15/bin/initdb ] \
   || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] \
   || ! command -v pdftoppm >/dev/null 2>&1 || ! command -v zbarimg >/dev/null 2>&1 \
   || ! command -v nginx >/dev/null 2>&1 || ! command -v podman >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium fonts-dejavu-core postgresql \
    poppler-utils zbar-tools nginx podman buildah debootstrap >/dev/null
fi
python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== pytest"; python -m pytest -q -p no:cacheprovider --durations=25 "$@"
