#!/bin/sh
# The official postgres image's start-up contract, for Debian's PostgreSQL: on the first start (no PG_VERSION in
# PGDATA) initdb with POSTGRES_USER as superuser and POSTGRES_PASSWORD, scram-sha-256 for every TCP client, then
# POSTGRES_DB; every start runs postgres listening on all addresses. Runs as the postgres user only (no root steps).
set -eu

if [ "${1:-}" != postgres ]; then exec "$@"; fi
shift

: "${PGDATA:?PGDATA must be set}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo 'postgres-entrypoint: POSTGRES_PASSWORD is required to initialise the database' >&2
    exit 1
  fi
  echo "postgres-entrypoint: initialising $PGDATA"
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  # The password reaches initdb through a file only this user reads, never an argument.
  pwfile="$(mktemp)"
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256
  rm -f "$pwfile"
  # Clients come from other pods: every address, with a password (the namespace's NetworkPolicies decide who).
  printf '\n# added by postgres-entrypoint\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  # Socket only while the database is made, so no client sees a half-made one.
  pg_ctl --pgdata="$PGDATA" --wait --options="-c listen_addresses=''" start
  if [ "$POSTGRES_DB" != postgres ]; then
    echo 'CREATE DATABASE :"db";' | psql --no-psqlrc --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" \
      --dbname=postgres --set=db="$POSTGRES_DB"
  fi
  pg_ctl --pgdata="$PGDATA" --wait --mode=fast stop
  echo 'postgres-entrypoint: initialised'
fi

exec postgres -c listen_addresses='*' "$@"
