#!/usr/bin/env bash
# The whole platform on a local kind cluster, from nothing, and again after a change (every step is idempotent):
#   1. create the cluster (cluster.yaml) unless it exists, with ingress-nginx;
#   2. build the images (deploy/images/build.sh) and import them into the cluster;
#   3. create the platform namespace (Pod Security "restricted") and its tokens Secret unless it exists;
#   4. helm upgrade --install the platform chart with values-local.yaml, and wait until it is ready.
# Needs docker (with BuildKit), kind 0.32+, kubectl, helm 3.22, openssl. Usage: bash deploy/kind/up.sh [--skip-build]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

CLUSTER=urumi
NAMESPACE=urumi-system
RELEASE=urumi
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

step "3/4 namespace ${NAMESPACE} and its tokens"
kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
kubectl label namespace "$NAMESPACE" --overwrite pod-security.kubernetes.io/enforce=restricted
if ! kubectl -n "$NAMESPACE" get secret urumi-tokens >/dev/null 2>&1; then
  tokens=$(mktemp)
  trap 'rm -f "$tokens"' EXIT
  token() { openssl rand -hex 24; }
  printf '[{"name":"admin","role":"admin","token":"%s"},{"name":"alice","role":"tenant","token":"%s"},{"name":"bob","role":"tenant","token":"%s"}]\n' \
    "$(token)" "$(token)" "$(token)" >"$tokens"
  kubectl -n "$NAMESPACE" create secret generic urumi-tokens --from-file=tokens.json="$tokens"
fi

step "4/4 helm upgrade --install ${RELEASE}"
upgrading=false
helm -n "$NAMESPACE" status "$RELEASE" >/dev/null 2>&1 && upgrading=true
helm upgrade --install "$RELEASE" charts/platform -n "$NAMESPACE" \
  -f charts/platform/values-local.yaml --wait --timeout 10m
if $upgrading && [[ ${1:-} != --skip-build ]]; then
  # The images were rebuilt under the same tag: restart so the pods run the new build.
  kubectl -n "$NAMESPACE" rollout restart deployment -l app.kubernetes.io/instance="$RELEASE"
  kubectl -n "$NAMESPACE" rollout status deployment -l app.kubernetes.io/instance="$RELEASE" --timeout=5m
fi

echo
echo "Console:  http://console.127.0.0.1.nip.io/"
echo "Tokens:   kubectl -n ${NAMESPACE} get secret urumi-tokens -o jsonpath='{.data.tokens\\.json}' | base64 -d"
echo "Remove:   bash deploy/kind/down.sh"
