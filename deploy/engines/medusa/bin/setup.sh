#!/bin/sh
# The store's setup steps, each safe to re-run; run from the built server (.medusa/server, /app in the image).
# Used unchanged by charts/store-medusa's setup Job and by the conformance test:
#   setup.sh migrate | admin | seed | all
# The seed's last act records URUMI_SETUP_REVISION as finished; the server and worker wait for it (bin/wait.js).
set -eu
medusa=node_modules/.bin/medusa
bin=$(dirname "$0")

step() {
  case "$1" in
  migrate)
    node "$bin/wait.js" services
    "$medusa" db:migrate
    ;;
  admin) "$medusa" exec ./src/scripts/create-admin.js ;;
  seed) "$medusa" exec ./src/scripts/seed.js ;;
  *)
    echo "usage: setup.sh migrate|admin|seed|all" >&2
    exit 64
    ;;
  esac
}

if [ "${1:-}" = all ]; then
  for s in migrate admin seed; do step "$s"; done
else
  step "${1:-}"
fi
