import { ParsedGoMod, semverParts } from './gomod';
import { versions } from './versions';

/** How to build one Go module's binaries through a wrapper module. */
export interface GoComponent {
  readonly name: string;
  readonly module: string;
  readonly version: string;
  /** Binary name → main package. */
  readonly binaries: Readonly<Record<string, string>>;
  /** Published version of a module the target requires at a placeholder version. */
  readonly releaseVersionOf?: (modulePath: string) => string;
  /** Link-time string variables, derived from the pinned version and the target's go.mod. */
  readonly linkerVariables: (target: ParsedGoMod, releasedAt: string) => Record<string, string>;
  /** Data files shipped in the module that the sandbox needs at run time (module-relative). */
  readonly assets?: readonly string[];
  /** A main package kept in this repository (its folder, repository-relative) that uses the module as a library. */
  readonly main?: string;
  /**
   * Build inside a copy of the module itself (binaries are then module-relative, `./cmd/x`), so its own replace
   * directives apply: for modules that replace dependencies with forks or with folders of their own.
   */
  readonly inModule?: boolean;
}

function requiredVersion(mod: ParsedGoMod, path: string): string {
  const found = mod.requires.find((r) => r.path === path);
  if (!found) throw new Error(`${mod.module} does not require ${path}`);
  return found.version;
}

function kubernetesVersionVariables(version: string, releasedAt: string): Record<string, string> {
  const { major, minor } = semverParts(version);
  const vars: Record<string, string> = {};
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    vars[`${pkg}.gitVersion`] = version;
    vars[`${pkg}.gitMajor`] = major;
    vars[`${pkg}.gitMinor`] = minor;
    // Built from the module archive, not a git checkout: the same words upstream uses then.
    vars[`${pkg}.gitTreeState`] = 'archive';
    vars[`${pkg}.gitCommit`] = 'unknown';
    vars[`${pkg}.buildDate`] = releasedAt;
  }
  return vars;
}

export const components: readonly GoComponent[] = [
  {
    name: 'kubernetes',
    module: 'k8s.io/kubernetes',
    version: versions.kubernetes,
    binaries: {
      'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
      'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
      'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
      kubectl: 'k8s.io/kubernetes/cmd/kubectl',
    },
    // Staging modules are published as v0.<minor>.<patch> alongside v1.<minor>.<patch>.
    releaseVersionOf: () => versions.kubernetes.replace(/^v1\./, 'v0.'),
    linkerVariables: (_mod, releasedAt) => kubernetesVersionVariables(versions.kubernetes, releasedAt),
  },
  {
    // The real node's agents, from the same module and version as the control plane (a separate cache entry, so
    // adding them does not rebuild the control plane).
    name: 'kubernetes-node',
    module: 'k8s.io/kubernetes',
    version: versions.kubernetes,
    binaries: {
      kubelet: 'k8s.io/kubernetes/cmd/kubelet',
      'kube-proxy': 'k8s.io/kubernetes/cmd/kube-proxy',
    },
    releaseVersionOf: () => versions.kubernetes.replace(/^v1\./, 'v0.'),
    linkerVariables: (_mod, releasedAt) => kubernetesVersionVariables(versions.kubernetes, releasedAt),
  },
  {
    name: 'etcd',
    module: 'go.etcd.io/etcd/server/v3',
    version: versions.etcd,
    binaries: { etcd: 'go.etcd.io/etcd/server/v3' },
    linkerVariables: () => ({ 'go.etcd.io/etcd/api/v3/version.GitSHA': versions.etcd }),
  },
  {
    name: 'kwok',
    module: 'sigs.k8s.io/kwok',
    version: versions.kwok,
    binaries: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' },
    linkerVariables: () => ({
      'sigs.k8s.io/kwok/pkg/consts.Version': versions.kwok,
      'sigs.k8s.io/kwok/pkg/consts.KubeVersion': versions.kubernetes,
    }),
    assets: [
      'kustomize/stage/node/fast/node-initialize.yaml',
      'kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
      'kustomize/stage/pod/fast/pod-ready.yaml',
      'kustomize/stage/pod/fast/pod-complete.yaml',
      'kustomize/stage/pod/fast/pod-delete.yaml',
    ],
  },
  {
    name: 'helm',
    module: 'helm.sh/helm/v3',
    version: versions.helm,
    binaries: { helm: 'helm.sh/helm/v3/cmd/helm' },
    linkerVariables: (mod) => {
      // As helm's Makefile: the Kubernetes version helm assumes is that of its client-go.
      const { major, minor } = semverParts(requiredVersion(mod, 'k8s.io/client-go'));
      const k8sMajor = String(Number(major) + 1);
      return {
        'helm.sh/helm/v3/internal/version.version': versions.helm,
        'helm.sh/helm/v3/internal/version.gitTreeState': 'archive',
        'helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor': k8sMajor,
        'helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor': minor,
        'helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor': k8sMajor,
        'helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor': minor,
      };
    },
  },
  {
    name: 'nats-server',
    module: 'github.com/nats-io/nats-server/v2',
    version: versions.natsServer,
    binaries: { 'nats-server': 'github.com/nats-io/nats-server/v2' },
    linkerVariables: () => ({}),
  },
  {
    name: 'buf',
    module: 'github.com/bufbuild/buf',
    version: versions.buf,
    binaries: { buf: 'github.com/bufbuild/buf/cmd/buf' },
    linkerVariables: () => ({}),
  },
  {
    // `docker build --check` without Docker: BuildKit's Dockerfile parser and linter (deploy/images/test).
    name: 'dockerfile-check',
    module: 'github.com/moby/buildkit',
    version: versions.buildkit,
    main: 'deploy/images/dockerfile-check',
    // The main package is the wrapper module itself.
    binaries: { 'dockerfile-check': 'urumi.local/sandbox/dockerfile-check' },
    linkerVariables: () => ({}),
  },
  {
    // The real node's cluster DNS (the `kubernetes` plugin), served from the node on its bridge address.
    name: 'coredns',
    module: 'github.com/coredns/coredns',
    version: versions.coredns,
    binaries: { coredns: 'github.com/coredns/coredns' },
    linkerVariables: () => ({ 'github.com/coredns/coredns/coremain.GitCommit': versions.coredns }),
  },
  {
    // NetworkPolicy enforcement on the real node: kube-router's firewall only (what k3s embeds).
    name: 'kube-router',
    module: 'github.com/cloudnativelabs/kube-router/v2',
    version: versions.kubeRouter,
    binaries: { 'kube-router': 'github.com/cloudnativelabs/kube-router/v2/cmd/kube-router' },
    linkerVariables: () => ({ 'github.com/cloudnativelabs/kube-router/v2/pkg/version.Version': versions.kubeRouter }),
  },
  {
    // The local OCI registry the real node pulls from, as a cluster pulls from a private registry.
    name: 'registry',
    module: 'github.com/distribution/distribution/v3',
    version: versions.distribution,
    binaries: { registry: 'github.com/distribution/distribution/v3/cmd/registry' },
    linkerVariables: () => ({ 'github.com/distribution/distribution/v3/version.version': versions.distribution }),
  },
  {
    // BuildKit's daemon (runc worker) and client: builds the project's Dockerfiles without a Docker engine.
    name: 'buildkit',
    module: 'github.com/moby/buildkit',
    version: versions.buildkit,
    binaries: {
      buildkitd: 'github.com/moby/buildkit/cmd/buildkitd',
      buildctl: 'github.com/moby/buildkit/cmd/buildctl',
    },
    linkerVariables: () => ({
      'github.com/moby/buildkit/version.Version': versions.buildkit,
      'github.com/moby/buildkit/version.Revision': 'archive',
    }),
  },
  {
    // The ingress controller the real node runs (k3s's default); its go.mod replaces dependencies with forks.
    name: 'traefik',
    module: 'github.com/traefik/traefik/v3',
    version: versions.traefik,
    inModule: true,
    binaries: { traefik: './cmd/traefik' },
    linkerVariables: () => ({ 'github.com/traefik/traefik/v3/pkg/version.Version': versions.traefik }),
  },
  {
    // Volumes on the real node that a non-root database can write (k3s's default StorageClass).
    name: 'local-path-provisioner',
    module: 'github.com/rancher/local-path-provisioner',
    version: versions.localPathProvisioner,
    binaries: { 'local-path-provisioner': 'github.com/rancher/local-path-provisioner' },
    linkerVariables: () => ({}),
  },
  {
    // Scrapes the services in the sandbox and evaluates the chart's alert rules; promtool unit-tests those rules.
    name: 'prometheus',
    module: 'github.com/prometheus/prometheus',
    version: versions.prometheus,
    binaries: {
      prometheus: 'github.com/prometheus/prometheus/cmd/prometheus',
      promtool: 'github.com/prometheus/prometheus/cmd/promtool',
    },
    linkerVariables: (_mod, releasedAt) => {
      const { minor, patch } = semverParts(versions.prometheus);
      const pkg = 'github.com/prometheus/common/version';
      return {
        [`${pkg}.Version`]: `3.${Number(minor) - 300}.${patch}`,
        [`${pkg}.Revision`]: 'archive',
        [`${pkg}.Branch`]: 'archive',
        [`${pkg}.BuildDate`]: releasedAt,
      };
    },
  },
];
