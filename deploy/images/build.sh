#!/usr/bin/env bash
# Builds every image the platform runs: the four services (deploy/images/Dockerfile) and the store engines
# (deploy/engines/*), tagged as the charts expect. Prints the image names, one a line, on stdout.
#
#   bash deploy/images/build.sh                                        # urumi/<service>:dev, local
#   IMAGE_REGISTRY=ghcr.io/acme IMAGE_TAG=0.1.0 bash deploy/images/build.sh --push
#
# IMAGE_REGISTRY prefixes every image (the chart's images.registry; the engine charts' image.repository then needs the
# same prefix: deploy/README.md). Needs Docker with BuildKit (Docker Engine 23+ or Docker Desktop).
#
# Without Docker, `npm run sandbox -- images` builds the same Dockerfiles with the sandbox's own BuildKit into its local
# registry (deploy/sandbox/src/images), on Debian and Node.js base images it makes itself: every image here except
# WooCommerce, whose plugin comes from a registry the sandbox's machine cannot reach.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

push=false
[[ ${1:-} == --push ]] && push=true
registry=${IMAGE_REGISTRY:-}
tag=${IMAGE_TAG:-dev}
prefix=${registry:+${registry%/}/}
export DOCKER_BUILDKIT=1

log() { printf '[images] %s\n' "$*" >&2; }

# The tag an engine chart pins (its values.yaml: image.tag), so a store finds the image it was built for.
chart_tag() { awk '/^image:/ {inside = 1; next} inside && /^  tag:/ {print $2; exit}' "charts/$1/values.yaml"; }

images=()
for service in gateway quota provisioner cleanup; do
  image="${prefix}urumi/${service}:${tag}"
  log "building ${image}"
  docker build -f deploy/images/Dockerfile --target "$service" -t "$image" . >&2
  images+=("$image")
done
for engine in woocommerce medusa; do
  image="${prefix}urumi/store-${engine}:$(chart_tag "store-${engine}")"
  log "building ${image}"
  docker build -t "$image" "deploy/engines/${engine}" >&2
  images+=("$image")
done

if $push; then
  for image in "${images[@]}"; do
    log "pushing ${image}"
    docker push "$image" >&2
  done
fi
printf '%s\n' "${images[@]}"
