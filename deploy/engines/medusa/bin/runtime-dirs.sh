#!/bin/sh
# Medusa's migrator makes an (empty) migrations folder in each loaded module package that ships none. At run time the
# build is read-only (image: read-only root filesystem, owned by root), so they are made here, once, after npm ci.
# Run in the built server directory; used by the Dockerfile and bin/prepare.sh alike.
set -eu
for dist in node_modules/@medusajs/*/dist; do
  mkdir -p "$dist/migrations"
done
