#!/usr/bin/env bash
# Installs everything the platform and its tests need on this machine, then returns quickly on later runs:
# Debian packages, npm packages (when package-lock.json changed) and the Go-built sandbox binaries
# (cached under ~/.cache/urumi, keyed by version), then generates the contracts' TypeScript from proto/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

step() { printf '[bootstrap] %s\n' "$*"; }
fail() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
[[ $node_major -ge 20 ]] || fail "Node.js 20 or newer is required (found $(node --version))."
command -v go >/dev/null || fail "Go 1.26 or newer is required to build the sandbox cluster: install it and put \`go\` on PATH."

missing=()
command -v openssl >/dev/null || missing+=(openssl)
# Medusa engine (deploy/engines/medusa): its conformance test runs Debian's PostgreSQL and Redis on ports of its own.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
# The console's end-to-end test drives Debian's Chromium headless (playwright-core, no downloaded browser).
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# The sandbox's real node (deploy/sandbox/src/node): container runtime, pod network, Service and NetworkPolicy rules,
# loopback relays, and Debian root filesystems for the images BuildKit builds (deploy/sandbox/src/images).
for program in containerd runc iptables ipset conntrack socat mmdebstrap; do
  command -v "$program" >/dev/null || [[ -x /usr/sbin/$program ]] || missing+=("$program")
done
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

bash deploy/local/npm-ci.sh . bootstrap

# Medusa engine (deploy/engines/medusa): its own npm install (keyed on its lockfile) and production build. Where
# services run, Debian starts a default PostgreSQL cluster (5432) and Redis (6379) on install; the test never uses
# them, so what this script's install started is stopped and not started again at boot.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
  pg_lsclusters --no-header | while read -r version cluster _; do
    ${sudo:-} pg_ctlcluster "$version" "$cluster" stop 2>/dev/null || true
    echo manual | ${sudo:-} tee "/etc/postgresql/$version/$cluster/start.conf" >/dev/null
  done
fi
if [[ " ${missing[*]} " == *" redis-server "* ]]; then
  ${sudo:-} service redis-server stop >/dev/null 2>&1 || true
  ${sudo:-} update-rc.d redis-server disable >/dev/null 2>&1 || true
  command -v systemctl >/dev/null && ${sudo:-} systemctl disable redis-server >/dev/null 2>&1 || true
fi
bash deploy/engines/medusa/bin/prepare.sh

npx tsx deploy/sandbox/src/cli.ts build
bash proto/generate.sh
step "ready"
