#!/usr/bin/env bash
# Installs the Debian bookworm packages klasgw needs to build, run and test,
# skipping those already present. Run as root (or with sudo available).
# The list is the one in README.md; keep them together.
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang
    libmicrohttpd-dev libgnutls28-dev
    libxml2-dev libxml2-utils libxslt1-dev xsltproc
    gsoap libgsoap-dev
    libcurl4-gnutls-dev curl
    libsqlite3-dev sqlite3
    libpq-dev postgresql
    libjansson-dev libinih-dev libcmocka-dev libhpdf-dev fonts-dejavu-core
    libjemalloc-dev
    poppler-utils
    python3 python3-zeep
    jq # make demo (scripts/demo.sh) reads the JSON answers with it
    nodejs npm
    wrk openssl haproxy
    strace # counts what serve opens (tests/e2e/test_serve_loads_once.sh)
    debhelper dpkg-dev fakeroot help2man systemd
    prometheus # promtool: check metrics and rules (tests/e2e/test_metrics.sh)
    chromium
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
# A machine may carry node and npm from outside Debian; those do.
if command -v node >/dev/null && command -v npm >/dev/null; then
    keep=()
    for p in "${missing[@]}"; do
        [[ "$p" == nodejs || "$p" == npm ]] || keep+=("$p")
    done
    missing=("${keep[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The independent FHIR R4 checker (tests/fhircheck) and the third-party
# FHIR client (tests/fhirclient) the tests run, pinned by their lock files.
top=$(cd "$(dirname "$0")/.." && pwd)
# tests/console drives the operator console in Debian's chromium through
# puppeteer-core (no browser download).
for d in fhircheck fhirclient console; do
    if [ ! -d "$top/tests/$d/node_modules" ]; then
        echo "install-deps: npm ci in tests/$d"
        (cd "$top/tests/$d" && npm ci --silent --no-audit --no-fund)
    fi
done
