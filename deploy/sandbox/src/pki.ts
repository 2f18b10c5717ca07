import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from './exec';

/** A client identity: the API server maps CN to the user and O to its groups. */
export interface Identity {
  readonly file: string;
  readonly user: string;
  readonly groups: readonly string[];
}

/** Identities of the control plane and of the admin kubeconfig handed to people and tests. */
export const identities = {
  admin: { file: 'admin', user: 'urumi-admin', groups: ['system:masters'] },
  controllerManager: { file: 'controller-manager', user: 'system:kube-controller-manager', groups: [] },
  scheduler: { file: 'scheduler', user: 'system:kube-scheduler', groups: [] },
  // KWOK plays every kubelet: it writes node and pod status across the cluster.
  kwok: { file: 'kwok', user: 'urumi-sandbox:kwok', groups: ['system:masters'] },
  // The real node: the Node authorizer knows a kubelet by this name and group.
  kubelet: { file: 'kubelet', user: 'system:node:urumi-node', groups: ['system:nodes'] },
  // Bound by default to system:node-proxier.
  kubeProxy: { file: 'kube-proxy', user: 'system:kube-proxy', groups: [] },
  kubeRouter: { file: 'kube-router', user: 'urumi-sandbox:kube-router', groups: [] },
  // The API server's identity towards kubelets (exec, logs, port-forward), bound to system:kubelet-api-admin.
  apiserverKubeletClient: { file: 'apiserver-kubelet-client', user: 'kube-apiserver-kubelet-client', groups: [] },
} as const satisfies Record<string, Identity>;

export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  certOf(identity: Identity): string;
  keyOf(identity: Identity): string;
}

function subject(identity: Identity): string {
  return [...identity.groups.map((group) => `/O=${group}`), `/CN=${identity.user}`].join('');
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function issue(
  dir: string,
  name: string,
  subjectLine: string,
  extensions: readonly string[],
  ca: { cert: string; key: string },
): Promise<void> {
  const key = join(dir, `${name}.key`);
  const extFile = join(dir, `${name}.ext`);
  const { stdout: csr } = await exec('openssl', ['req', '-new', ...EC_KEY, '-keyout', key, '-subj', subjectLine]);
  await writeFile(extFile, extensions.join('\n') + '\n');
  await exec(
    'openssl',
    [
      'x509',
      '-req',
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      '3650',
      '-extfile',
      extFile,
      '-out',
      join(dir, `${name}.crt`),
    ],
    { input: csr },
  );
  await rm(extFile);
}

/**
 * Creates (once) a CA, the API server's serving certificate, client certificates and the service-account key pair.
 * `serverIps` are addresses the API server is also reached at (the real node's host link); a different list, or an
 * identity added since, makes a new set.
 */
export async function ensurePki(dir: string, serverIps: readonly string[] = []): Promise<Pki> {
  const pki: Pki = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'service-account.key'),
    serviceAccountPub: join(dir, 'service-account.pub'),
    certOf: (identity) => join(dir, `${identity.file}.crt`),
    keyOf: (identity) => join(dir, `${identity.file}.key`),
  };
  const complete = join(dir, '.complete');
  const fingerprint = JSON.stringify({ serverIps, identities: Object.values(identities).map((i) => i.file) });
  if (existsSync(complete) && (await readFile(complete, 'utf8')) === fingerprint) return pki;

  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await exec('openssl', [
    'req',
    '-x509',
    '-new',
    ...EC_KEY,
    '-keyout',
    pki.caKey,
    '-out',
    pki.caCert,
    '-days',
    '3650',
    '-subj',
    '/CN=urumi-sandbox-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  const ca = { cert: pki.caCert, key: pki.caKey };
  await issue(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${['127.0.0.1', '10.96.0.1', ...serverIps].map((ip) => `IP:${ip}`).join(',')},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
    ],
    ca,
  );
  for (const identity of Object.values(identities)) {
    await issue(
      dir,
      identity.file,
      subject(identity),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=clientAuth',
      ],
      ca,
    );
  }
  await exec('openssl', [
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    pki.serviceAccountKey,
  ]);
  await exec('openssl', ['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  await writeFile(complete, fingerprint);
  return pki;
}

/** A self-contained kubeconfig (certificates inlined) for one identity. */
export async function renderKubeconfig(pki: Pki, identity: Identity, server: string): Promise<string> {
  const b64 = async (file: string) => (await readFile(file)).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
  - name: urumi-sandbox
    cluster:
      server: ${server}
      certificate-authority-data: ${await b64(pki.caCert)}
users:
  - name: ${identity.user}
    user:
      client-certificate-data: ${await b64(pki.certOf(identity))}
      client-key-data: ${await b64(pki.keyOf(identity))}
contexts:
  - name: urumi-sandbox
    context:
      cluster: urumi-sandbox
      user: ${identity.user}
current-context: urumi-sandbox
`;
}
