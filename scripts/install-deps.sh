#!/usr/bin/env bash
# Installs the Debian 12 packages eventhub needs to build, run and test — only the
# missing ones. Uses sudo when not root. Set EVENTHUB_DEPS_EXTRA for optional extras.
#   --dev      also the lint tools (clang-format, cppcheck), and clang with its runtimes
#              (libFuzzer, the sanitizers: make fuzz)
#   --browser  also the dashboard's browser tests and the webhook verifier: Debian's
#              Chromium, node/npm when absent, and `npm ci` in tests/browser
#              (playwright-core) and tests/webhooks (standardwebhooks), from the npm registry
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential meson ninja-build pkg-config
  libnats-dev nats-server libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libyaml-dev zlib1g-dev
  libssl-dev  # libcrypto: HMAC-SHA256 of signed webhooks
  python3 curl ca-certificates
  python3-prometheus-client  # test_metrics parses /metrics with a real Prometheus parser
  systemd strace  # test_systemd_unit: systemd-analyze verify/security, eventhub traced
  python3-yaml  # test_deploy_files parses deploy/compose/compose.yaml
)
browser=0
for arg in "$@"; do
  case "$arg" in
  --dev) packages+=(clang-format cppcheck clang libclang-rt-14-dev) ;; # clang + libFuzzer
  --browser)
    browser=1
    packages+=(chromium fonts-liberation)
    command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
    ;;
  *) echo "install-deps.sh: unknown option $arg (--dev, --browser)" >&2; exit 2 ;;
  esac
done

# The node packages of the tests (after apt): tests/browser (playwright-core, the
# dashboard's browser tests) and tests/webhooks (standardwebhooks, the verifier of
# signed webhooks), each from its package-lock.json.
browser_npm() {
  [[ $browser -eq 1 ]] || return 0
  local dir
  for dir in tests/browser tests/webhooks; do
    local lock=$dir/package-lock.json stamp=$dir/node_modules/.package-lock.json
    if [[ -f $stamp && ! $lock -nt $stamp ]]; then continue; fi
    echo "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  done
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  browser_npm
  exit 0
fi

echo "installing: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
browser_npm
