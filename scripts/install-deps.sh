#!/usr/bin/env bash
# Installs the Debian 12 packages eventhub needs to build, run and test — only the
# missing ones. Uses sudo when not root. Set EVENTHUB_DEPS_EXTRA for optional extras.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libnats-dev nats-server libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libyaml-dev zlib1g-dev
  python3 curl ca-certificates
  python3-prometheus-client  # test_metrics parses /metrics with a real Prometheus parser
)
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(clang-format cppcheck)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
