/**
 * Pinned versions of everything the sandbox builds (and buf, which lints and generates the contracts; BuildKit, whose
 * Dockerfile frontend checks the Dockerfiles and whose daemon builds the images). Bump here, and the cache key changes with it.
 */
export const versions = {
  kubernetes: 'v1.36.3',
  etcd: 'v3.6.16',
  kwok: 'v0.8.0',
  helm: 'v3.22.0',
  natsServer: 'v2.15.2',
  buf: 'v1.75.0',
  buildkit: 'v0.34.2',
  coredns: 'v1.15.0',
  // The only kube-router release the Go proxy serves here (advisories are reported against it; see deploy/sandbox/README.md).
  kubeRouter: 'v2.1.0',
  distribution: 'v3.1.2',
  traefik: 'v3.6.12',
  localPathProvisioner: 'v0.0.30',
  // Prometheus 3.16.0: its Go module numbers release 3.x.y as v0.3xx.y.
  prometheus: 'v0.316.0',
} as const;
