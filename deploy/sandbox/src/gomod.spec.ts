import { goBinaryName, linkerVariables, parseGoMod, renderGoMod, semverParts, wrapperReplaces } from './gomod';

const kubernetesLikeGoMod = `// This is a generated file.
module k8s.io/kubernetes

go 1.26.0

require (
	github.com/spf13/cobra v1.10.2
	k8s.io/api v0.0.0
	k8s.io/externaljwt v0.0.0 // indirect
	k8s.io/utils v0.0.0-20260101000000-abcdefabcdef
)

require k8s.io/client-go v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/externaljwt => ./staging/src/k8s.io/externaljwt
	k8s.io/sample-apiserver => ./staging/src/k8s.io/sample-apiserver
)

replace github.com/spf13/cobra => github.com/spf13/cobra v1.9.0
`;

const etcdLikeGoMod = `module go.etcd.io/etcd/server/v3

require go.etcd.io/etcd/api/v3 v3.6.16

replace go.etcd.io/etcd/api/v3 => ../api

replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
`;

describe(parseGoMod.name, () => {
  it('reads requires and replaces in block and single-line form, ignoring comments', () => {
    const sut = parseGoMod(kubernetesLikeGoMod);

    expect(sut.module).toBe('k8s.io/kubernetes');
    expect(sut.requires).toContainEqual({ path: 'k8s.io/externaljwt', version: 'v0.0.0' });
    expect(sut.requires).toContainEqual({ path: 'k8s.io/client-go', version: 'v0.0.0' });
    expect(sut.replaces).toContainEqual({ path: 'github.com/spf13/cobra', target: 'github.com/spf13/cobra v1.9.0' });
    expect(sut.replaces).toHaveLength(5);
  });

  it('rejects text without a module directive', () => {
    expect(() => parseGoMod('go 1.26\n')).toThrow(/no module directive/);
  });
});

describe(wrapperReplaces.name, () => {
  it('pins exactly the locally replaced modules required at a placeholder version', () => {
    const sut = wrapperReplaces(parseGoMod(kubernetesLikeGoMod), () => 'v0.36.3');

    expect(sut).toEqual([
      { path: 'k8s.io/api', version: 'v0.36.3' },
      { path: 'k8s.io/client-go', version: 'v0.36.3' },
      { path: 'k8s.io/externaljwt', version: 'v0.36.3' },
    ]);
  });

  it('needs no replace when local replaces point at published versions', () => {
    expect(wrapperReplaces(parseGoMod(etcdLikeGoMod), () => 'unused')).toEqual([]);
  });
});

describe(renderGoMod.name, () => {
  it('renders a wrapper module that requires the target and replaces the staging modules', () => {
    const sut = renderGoMod({
      name: 'urumi.local/sandbox/kubernetes',
      goVersion: '1.26',
      require: { path: 'k8s.io/kubernetes', version: 'v1.36.3' },
      replaces: [{ path: 'k8s.io/api', version: 'v0.36.3' }],
      packages: ['k8s.io/kubernetes/cmd/kubectl'],
    });

    expect(sut).toBe(
      'module urumi.local/sandbox/kubernetes\n\ngo 1.26\n\nrequire k8s.io/kubernetes v1.36.3\n\n' +
        'replace (\n\tk8s.io/api => k8s.io/api v0.36.3\n)\n',
    );
  });
});

describe(goBinaryName.name, () => {
  it.each([
    ['k8s.io/kubernetes/cmd/kube-apiserver', 'kube-apiserver'],
    ['go.etcd.io/etcd/server/v3', 'server'],
    ['github.com/nats-io/nats-server/v2', 'nats-server'],
  ])('%s builds as %s', (pkg, name) => {
    expect(goBinaryName(pkg)).toBe(name);
  });
});

describe(linkerVariables.name, () => {
  it('renders -X flags in a stable order', () => {
    expect(linkerVariables({ 'b.x': '2', 'a.y': '1' })).toEqual(['-X a.y=1', '-X b.x=2']);
  });
});

describe(semverParts.name, () => {
  it('splits a Go module version', () => {
    expect(semverParts('v1.36.3')).toEqual({ major: '1', minor: '36', patch: '3' });
    expect(() => semverParts('main')).toThrow(/not a semantic version/);
  });
});
