#!/usr/bin/env bash
# The whole platform on a local kind cluster, from nothing, and again after a change (every step is idempotent):
#   1. create the cluster (cluster.yaml) unless it exists, with ingress-nginx;
#   2. build the images (deploy/images/build.sh) and import them into the cluster;
#   3. create the platform namespace (Pod Security "restricted") and its tokens Secret unless it exists, and
#   4. helm upgrade --install the platform chart with values-local.yaml (both: deploy/install-platform.sh).
# Needs docker (with BuildKit), kind 0.32+, kubectl, helm 3.22, openssl. Usage: bash deploy/kind/up.sh [--skip-build]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

CLUSTER=urumi
INGRESS_NGINX=controller-v1.14.3
CONTEXT="kind-${CLUSTER}"

step() { printf '\n[kind] %s\n' "$*"; }
for tool in docker kind kubectl helm openssl; do
  command -v "$tool" >/dev/null || { echo "[kind] error: $tool is required" >&2; exit 1; }
done

step "1/4 cluster ${CLUSTER}"
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind create cluster --config deploy/kind/cluster.yaml --wait 5m
fi
kubectl config use-context "$CONTEXT" >/dev/null
kubectl apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/${INGRESS_NGINX}/deploy/static/provider/kind/deploy.yaml"
kubectl -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=5m

step "2/4 images"
if [[ ${1:-} != --skip-build ]]; then
  mapfile -t images < <(IMAGE_TAG=dev bash deploy/images/build.sh)
  kind load docker-image --name "$CLUSTER" "${images[@]}"
fi

exec bash deploy/install-platform.sh kind "$@"
