#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine (run as root), builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers the tests run: carbon-cache writing whisper files, collectd, etcd; nc for the README example;
# ISA-L for the proxy's native gzip (built by npm ci's install step, scripts/build-native.mjs).
# systemd for systemd-analyze, which checks the units in deploy/systemd. tinyproxy: a site's egress proxy (CONNECT).
# prometheus (and its promtool) scrapes the programs and checks their metrics and the alerting rules.
# chromium: the status page is opened in a real browser (test/observe/status-page.test.ts, puppeteer-core).
# haproxy: the load balancer of the scale-out test (deploy/cluster/haproxy.cfg).
DEBIAN_PACKAGES=(graphite-carbon python3-whisper collectd-core etcd-server etcd-client netcat-openbsd openssl libisal-dev systemd prometheus tinyproxy chromium haproxy)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm test
# The scale-out test (test/cluster/), 2,000,000 points per proxy: 67-126 s alone.
npm run test:cluster
