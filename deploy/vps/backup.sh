#!/usr/bin/env bash
# Backs up a running Urumi platform into one dated folder (README.md beside this file, "Backup and restore"):
#   nats/      every JetStream stream and KV bucket (the read model, quota ledger, audit, events), by `nats account backup`
#   stores/    each store's Store resource, its database as a logical dump and, for WooCommerce, its uploads
# Needs kubectl (the cluster's admin kubeconfig), jq and the NATS CLI (`nats`). Usage: bash deploy/vps/backup.sh [target dir]
set -euo pipefail

NAMESPACE=${URUMI_NAMESPACE:-urumi-system}
RELEASE=${URUMI_RELEASE:-urumi}
target=${1:-./urumi-backup-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$target/nats" "$target/stores"
log() { printf '[backup] %s\n' "$*" >&2; }

log "NATS JetStream → $target/nats"
# As NATS's admin user (deploy/README.md, "NATS credentials"); the nats CLI reads these variables.
auth_secret=${URUMI_NATS_AUTH_SECRET:-${RELEASE}-nats-auth}
NATS_USER=admin
NATS_PASSWORD=$(kubectl -n "$NAMESPACE" get secret "$auth_secret" -o jsonpath='{.data.admin}' | base64 -d)
export NATS_USER NATS_PASSWORD
kubectl -n "$NAMESPACE" port-forward "svc/${RELEASE}-nats" 14222:4222 >/dev/null &
forward=$!
trap 'kill "$forward" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do nats --server nats://127.0.0.1:14222 server check connection >/dev/null 2>&1 && break; sleep 0.2; done
nats --server nats://127.0.0.1:14222 account backup "$target/nats" --force

log "Store resources → $target/stores/stores.json"
# Spec, labels and finalizer only: what `kubectl apply` recreates; the provisioner rebuilds the status.
kubectl get stores.urumi.dev -o json | jq '.items |= map(
    {apiVersion, kind, spec, metadata: (.metadata | {name, labels, annotations, finalizers})})' \
  >"$target/stores/stores.json"

# The single-quoted commands run in the store's container, with its own environment (the password never leaves it).
# shellcheck disable=SC2016
for ns in $(kubectl get namespace -l app.kubernetes.io/managed-by=urumi -o jsonpath='{.items[*].metadata.name}'); do
  engine=$(kubectl get namespace "$ns" -o jsonpath='{.metadata.annotations.urumi\.dev/engine}')
  log "$ns ($engine)"
  case "$engine" in
    woocommerce)
      kubectl -n "$ns" exec statefulset/store-mariadb -c mariadb -- sh -c \
        'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb-dump --single-transaction --routines -uroot wordpress' \
        | gzip >"$target/stores/$ns.sql.gz"
      kubectl -n "$ns" exec deployment/store-wordpress -c wordpress -- \
        tar -czf - -C /var/www/wordpress/wp-content uploads >"$target/stores/$ns.uploads.tar.gz"
      ;;
    medusa)
      kubectl -n "$ns" exec statefulset/store-postgres -c postgres -- sh -c 'exec pg_dump -U "$POSTGRES_USER" -Fc "$POSTGRES_DB"' \
        >"$target/stores/$ns.pgdump"
      ;;
    *) log "  no backup recipe for engine \"$engine\"" ;;
  esac
done
log "done: $target"
