#!/usr/bin/env bash
# `npm start`: installs what is missing, then runs the platform locally.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash deploy/local/bootstrap.sh
npx tsx deploy/sandbox/src/cli.ts up
