/**
 * Pinned versions of everything the sandbox builds (and buf, which lints and generates the contracts; BuildKit, whose
 * Dockerfile frontend checks the Dockerfiles). Bump here, and the cache key changes with it.
 */
export const versions = {
  kubernetes: 'v1.36.3',
  etcd: 'v3.6.16',
  kwok: 'v0.8.0',
  helm: 'v3.22.0',
  natsServer: 'v2.15.2',
  buf: 'v1.75.0',
  buildkit: 'v0.34.2',
} as const;
