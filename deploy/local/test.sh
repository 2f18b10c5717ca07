#!/usr/bin/env bash
# `npm test` (and CI): installs what is missing, checks formatting, lint and types, then runs every
# Jest project in one run: unit tests and the integration tests that start their own sandbox and NATS.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

started=$SECONDS
bash deploy/local/bootstrap.sh || exit 1

status=0
echo "[test] formatting, lint and types"
npx prettier --check . --log-level=warn || status=1
checks_log=$(mktemp)
npx nx run-many -t lint typecheck --output-style=static >"$checks_log" 2>&1 || { cat "$checks_log"; status=1; }
rm -f "$checks_log"

echo "[test] jest"
npx jest --ci "$@" || status=1

echo "[test] finished in $((SECONDS - started))s"
exit $status
