#!/usr/bin/env bash
# `npm ci` in a folder when its package-lock.json changed since the last install (its hash is kept in node_modules);
# nothing otherwise. Used by bootstrap.sh (the repository) and the Medusa engine's bin/prepare.sh (its own lockfile).
# Usage: bash deploy/local/npm-ci.sh <folder> <log label>
set -euo pipefail
cd "$1"
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.urumi-lock-hash
if [[ ! -f $stamp || $(cat "$stamp") != "$lock_hash" ]]; then
  echo "[$2] installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >"$stamp"
fi
