#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only those not yet installed.
#
#   postgresql        PostgreSQL 15 server (scripts/ci-postgres.sh; pytest -m postgres)
#   chromium          headless browser tests of the web UI
#   poppler-utils     pdftotext / pdftoppm, to read back generated PDF reports
#   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core
#                     shared libraries and a font that WeasyPrint loads at run time
#                     (the Dockerfile's runtime installs the same ones)
#   tini              the image's PID 1: the image tests run its ENTRYPOINT as written
#   openssl           self-signed certificates for the SMTP STARTTLS/TLS tests
#   nodejs (+ npm)    the Forge app's build and Atlassian's manifest validator (plugin_manifest/forge)
#   libfaketime       processes the tests start run on the tests' pinned clock (tests/support/clock.py)
#
# Idempotent: with everything present it changes nothing and touches no network.
# Needs root (CI and the dev machines run as root) unless nothing is missing.
set -euo pipefail

PACKAGES=(
    postgresql
    chromium
    poppler-utils
    libpango-1.0-0
    libpangoft2-1.0-0
    libharfbuzz0b
    libharfbuzz-subset0
    fonts-dejavu-core
    tini
    openssl
    nodejs
    libfaketime
)
# npm comes inside the machines' nodejs (NodeSource); Debian's nodejs needs its own npm.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

is_installed() {
    dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-system-deps: all present (${PACKAGES[*]})"
    exit 0
fi

echo "install-system-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
# Fresh machines may have no (or stale) package lists: update once, then install.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null

for pkg in "${missing[@]}"; do
    if ! is_installed "$pkg"; then
        echo "install-system-deps: $pkg did not install" >&2
        exit 1
    fi
done
echo "install-system-deps: done"
