#!/usr/bin/env bash
# The whole platform on a local k3d cluster, from nothing, and again after a change (every step is idempotent):
#   1. create the cluster (cluster.yaml) unless it exists, with ingress-nginx;
#   2. build the images (deploy/images/build.sh) and import them into the cluster;
#   3. create the platform namespace (Pod Security "restricted") and its tokens Secret unless it exists, and
#   4. helm upgrade --install the platform chart with values-local.yaml (both: deploy/install-platform.sh).
# Needs docker (with BuildKit), k3d 5.8+, kubectl, helm 3.22, openssl. Usage: bash deploy/k3d/up.sh [--skip-build]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

CLUSTER=urumi
INGRESS_NGINX=controller-v1.14.3
CONTEXT="k3d-${CLUSTER}"

step() { printf '\n[k3d] %s\n' "$*"; }
for tool in docker k3d kubectl helm openssl; do
  command -v "$tool" >/dev/null || { echo "[k3d] error: $tool is required" >&2; exit 1; }
done

step "1/4 cluster ${CLUSTER}"
if ! k3d cluster get "$CLUSTER" >/dev/null 2>&1; then
  k3d cluster create --config deploy/k3d/cluster.yaml --wait
fi
kubectl config use-context "$CONTEXT" >/dev/null
kubectl apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/${INGRESS_NGINX}/deploy/static/provider/cloud/deploy.yaml"
kubectl -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=5m

step "2/4 images"
if [[ ${1:-} != --skip-build ]]; then
  mapfile -t images < <(IMAGE_TAG=dev bash deploy/images/build.sh)
  k3d image import -c "$CLUSTER" "${images[@]}"
fi

exec bash deploy/install-platform.sh k3d "$@"
