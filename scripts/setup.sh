#!/usr/bin/env bash
# Installs what building, testing and the demo need, with apt-get; safe to run
# again (packages already installed are skipped without touching the network).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libcurl4-openssl-dev libcjson-dev libpq-dev libmicrohttpd-dev
  postgresql postgresql-contrib tzdata curl jq
  clang libclang-rt-14-dev valgrind procps
  # tests of the operations side: promtool, a real cron, systemd-analyze,
  # the man page renderer, a pty for the progress line
  prometheus cron systemd groff-base man-db bsdutils
)
[[ "${ETL_SETUP_EXTRA:-}" ]] && read -r -a extra <<<"$ETL_SETUP_EXTRA" && packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh: these packages are missing: ${missing[*]}; run this script as root (or install them) and try again" >&2
  exit 1
fi
echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The postgresql package would start a system cluster; the project runs its
# own throwaway clusters, so keep the packaged one from starting.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
