#!/usr/bin/env bash
# Install the system packages the test suite needs (Debian, as root), where missing:
# Chromium for browser tests, PostgreSQL 15 with PostGIS, Redis, and wrk for benchmarks.
set -euo pipefail
wanted=(chromium postgresql-15 postgresql-15-postgis-3 redis-server wrk)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
