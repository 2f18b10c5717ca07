#!/usr/bin/env bash
# `npm start`: installs what is missing, then runs the platform locally.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash deploy/local/bootstrap.sh
exec npx tsx deploy/sandbox/src/start.ts
