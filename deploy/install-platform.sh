#!/usr/bin/env bash
# Steps 3 and 4 of deploy/k3d/up.sh and deploy/kind/up.sh, the same on both once the cluster runs and holds
# the images: the platform namespace (Pod Security "restricted") and its tokens Secret unless it exists, then
# helm upgrade --install of the platform chart with values-local.yaml, waiting until it is ready.
# Usage (from those scripts): bash deploy/install-platform.sh <k3d|kind> [--skip-build]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FLAVOUR=$1
shift
NAMESPACE=urumi-system
RELEASE=urumi

step() { printf '\n[%s] %s\n' "$FLAVOUR" "$*"; }

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
echo "Remove:   bash deploy/${FLAVOUR}/down.sh"
