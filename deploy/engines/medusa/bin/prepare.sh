#!/usr/bin/env bash
# Installs the store app's npm packages when package-lock.json changed, then builds the production server
# (.medusa/server, with its own production-only node_modules, laid out as /app in the image) when it is missing or
# its sources changed. Quick when nothing changed.
# Used by deploy/local/bootstrap.sh and by the conformance test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export MEDUSA_DISABLE_TELEMETRY=true

bash ../../local/npm-ci.sh . medusa

build_hash=$(find medusa-config.ts tsconfig.json package-lock.json src -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
build_stamp=.medusa/server/.urumi-build-hash
if [[ ! -f $build_stamp || $(cat "$build_stamp") != "$build_hash" ]]; then
  echo "[medusa] building the production server (medusa build)"
  NODE_ENV=production node_modules/.bin/medusa build
  (cd .medusa/server && npm ci --omit=dev --no-audit --no-fund --loglevel=error && sh ../../bin/runtime-dirs.sh)
  echo "$build_hash" >"$build_stamp"
fi
