import { REAL_NODE_LABEL, REAL_NODE_TAINT } from './plan';

/**
 * Volumes for pods that really run. The controller-manager's host-path provisioner makes each PV folder root-owned,
 * mode 0750, and the kubelet applies no fsGroup to hostPath volumes, so a non-root database (PostgreSQL, uid 999)
 * cannot write its own volume. Rancher's local-path-provisioner (k3s's default StorageClass) makes each volume a folder
 * its helper pod creates world-writable, and removes it when the PV goes. In shared-filesystem mode its volumes carry
 * no node affinity, so a store on the KWOK nodes (whose pods never mount anything) binds its claims as before, while
 * every folder lives on the one real node, where its helper pods run.
 */
export const LOCAL_PATH_STORAGE = {
  namespace: 'local-path-storage',
  storageClass: 'local-path',
  provisioner: 'rancher.io/local-path',
  binary: 'local-path-provisioner',
} as const;

export interface LocalPathStorageOptions {
  /** The provisioner's image (its static binary on an empty image), as pods name it. */
  readonly provisionerImage: string;
  /** The helper pods' image: anything with /bin/sh, mkdir and rm (the sandbox's Debian base). */
  readonly helperImage: string;
  /** The node folder the volumes live in (below the sandbox's state folder, so a purge removes them). */
  readonly volumesDir: string;
  /** Whether its StorageClass is the cluster's default one. */
  readonly isDefaultClass: boolean;
}

/** The provisioner on the real node, its RBAC, configuration and StorageClass (reclaim policy Delete). */
export function localPathStorageManifest(options: LocalPathStorageOptions): string {
  const { namespace, storageClass, provisioner, binary } = LOCAL_PATH_STORAGE;
  const onRealNode = `nodeSelector: { ${REAL_NODE_LABEL.key}: ${REAL_NODE_LABEL.value} }`;
  const config = JSON.stringify({ sharedFileSystemPath: options.volumesDir });
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${namespace}
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: local-path-provisioner, namespace: ${namespace} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: local-path-provisioner, namespace: ${namespace} }
rules:
  - { apiGroups: [""], resources: [pods], verbs: [get, list, watch, create, patch, update, delete] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: local-path-provisioner, namespace: ${namespace} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: local-path-provisioner }
subjects: [{ kind: ServiceAccount, name: local-path-provisioner, namespace: ${namespace} }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: urumi-sandbox:local-path-provisioner }
rules:
  - { apiGroups: [""], resources: [nodes, persistentvolumeclaims, configmaps, pods, pods/log], verbs: [get, list, watch] }
  - { apiGroups: [""], resources: [persistentvolumes], verbs: [get, list, watch, create, patch, update, delete] }
  - { apiGroups: [""], resources: [events], verbs: [create, patch] }
  - { apiGroups: [storage.k8s.io], resources: [storageclasses], verbs: [get, list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: urumi-sandbox:local-path-provisioner }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: urumi-sandbox:local-path-provisioner }
subjects: [{ kind: ServiceAccount, name: local-path-provisioner, namespace: ${namespace} }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: local-path-config, namespace: ${namespace} }
data:
  config.json: '${config}'
  # World-writable, as k3s makes them: the pod's own user (any uid) owns what it creates inside.
  setup: |-
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    set -eu
    rm -rf "$VOL_DIR"
  # Root, to make and remove folders in the node's volume folder; the provisioner adds the hostPath and tolerations.
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: { name: helper-pod }
    spec:
      ${onRealNode}
      automountServiceAccountToken: false
      containers:
        - name: helper-pod
          image: ${options.helperImage}
          imagePullPolicy: IfNotPresent
          resources:
            requests: { cpu: 10m, memory: 16Mi }
            limits: { memory: 64Mi }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: local-path-provisioner, namespace: ${namespace}, labels: { app: local-path-provisioner } }
spec:
  replicas: 1
  selector: { matchLabels: { app: local-path-provisioner } }
  template:
    metadata: { labels: { app: local-path-provisioner } }
    spec:
      serviceAccountName: local-path-provisioner
      ${onRealNode}
      tolerations:
        - { key: ${REAL_NODE_TAINT.key}, operator: Equal, value: ${REAL_NODE_TAINT.value}, effect: ${REAL_NODE_TAINT.effect} }
      containers:
        - name: local-path-provisioner
          image: ${options.provisionerImage}
          command: [/usr/local/bin/${binary}, start, --config, /etc/config/config.json, --provisioner-name, ${provisioner}, --helper-image, ${options.helperImage}, --service-account-name, local-path-provisioner]
          env:
            - { name: POD_NAMESPACE, valueFrom: { fieldRef: { fieldPath: metadata.namespace } } }
            - { name: CONFIG_MOUNT_PATH, value: /etc/config/ }
          resources:
            requests: { cpu: 10m, memory: 32Mi }
            limits: { memory: 96Mi }
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
            seccompProfile: { type: RuntimeDefault }
          volumeMounts: [{ name: config, mountPath: /etc/config/ }]
      volumes: [{ name: config, configMap: { name: local-path-config } }]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: ${storageClass}
  annotations: { storageclass.kubernetes.io/is-default-class: "${options.isDefaultClass}" }
provisioner: ${provisioner}
reclaimPolicy: Delete
volumeBindingMode: Immediate
`;
}
