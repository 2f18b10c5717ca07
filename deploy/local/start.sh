#!/usr/bin/env bash
# `npm start`: installs what is missing, then runs the platform locally.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash deploy/local/bootstrap.sh
npx nx run console:build --output-style=static
exec npx tsx deploy/sandbox/src/start.ts
