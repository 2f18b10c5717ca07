import { CLUSTER_DNS_IP, CLUSTER_DOMAIN, REAL_NODE_LABEL, REAL_NODE_TAINT } from './plan';

/** Where the ingress controller runs and how the platform's NetworkPolicies and Ingresses name it. */
export const INGRESS_CONTROLLER = {
  namespace: 'traefik',
  podLabels: { 'app.kubernetes.io/name': 'traefik' },
  ingressClass: 'traefik',
  /** The NodePort on the node address that the host's loopback relay forwards to. */
  nodePort: 30080,
} as const;

/** The pods the cluster DNS runs as (the label the platform's `allow-dns` NetworkPolicies name). */
export const CLUSTER_DNS = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } } as const;

export interface AddonImages {
  readonly coredns: string;
  readonly traefik: string;
  readonly localPathProvisioner: string;
}

/** Scheduling onto the real node (its label and taint keep every other pod on KWOK). */
const onRealNode = `      nodeSelector: { ${REAL_NODE_LABEL.key}: ${REAL_NODE_LABEL.value} }
      tolerations:
        - { key: ${REAL_NODE_TAINT.key}, operator: Equal, value: ${REAL_NODE_TAINT.value}, effect: ${REAL_NODE_TAINT.effect} }`;

/** Pod Security `restricted`: what every container the sandbox itself runs keeps to. */
const restricted = `          securityContext:
            runAsNonRoot: true
            runAsUser: 65532
            runAsGroup: 65532
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }
            seccompProfile: { type: RuntimeDefault }`;

/**
 * CoreDNS as the cluster DNS: pods in kube-system behind the `kube-dns` Service at the address kubelets hand to
 * pods, serving the cluster domain from the API server and nothing else (there is no upstream to forward to).
 */
export function clusterDnsManifest(images: AddonImages): string {
  return `apiVersion: v1
kind: ServiceAccount
metadata: { name: coredns, namespace: kube-system }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: urumi-sandbox:coredns }
rules:
  - { apiGroups: [""], resources: [services, pods, namespaces], verbs: [list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: urumi-sandbox:coredns }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: urumi-sandbox:coredns }
subjects: [{ kind: ServiceAccount, name: coredns, namespace: kube-system }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data:
  Corefile: |
    .:53 {
      errors
      health :8080
      ready :8181
      kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
      }
      cache 30
      loop
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      # Port 53 as a non-root user without capabilities; NetworkPolicies allowing DNS name the pod's port, 53.
      securityContext:
        sysctls: [{ name: net.ipv4.ip_unprivileged_port_start, value: '53' }]
${onRealNode}
      containers:
        - name: coredns
          image: ${images.coredns}
          command: [/usr/local/bin/coredns, -conf, /etc/coredns/Corefile]
          ports:
            - { name: dns, containerPort: 53, protocol: UDP }
            - { name: dns-tcp, containerPort: 53, protocol: TCP }
          readinessProbe: { httpGet: { path: /ready, port: 8181 }, periodSeconds: 2 }
          livenessProbe: { httpGet: { path: /health, port: 8080 }, periodSeconds: 10 }
          resources:
            requests: { cpu: 50m, memory: 32Mi }
            limits: { memory: 96Mi }
${restricted}
          volumeMounts: [{ name: config, mountPath: /etc/coredns, readOnly: true }]
      volumes: [{ name: config, configMap: { name: coredns } }]
---
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  clusterIP: ${CLUSTER_DNS_IP}
  selector: { k8s-app: kube-dns }
  ports:
    - { name: dns, port: 53, targetPort: 53, protocol: UDP }
    - { name: dns-tcp, port: 53, targetPort: 53, protocol: TCP }
`;
}

/**
 * Traefik as the ingress controller, in its own namespace (so the stores' `allow-ingress-controller` policies are
 * exercised as in production), serving Ingresses of its class on a NodePort of the node address.
 */
export function ingressControllerManifest(images: AddonImages): string {
  const { namespace, ingressClass, nodePort } = INGRESS_CONTROLLER;
  const labels = `{ app.kubernetes.io/name: ${INGRESS_CONTROLLER.podLabels['app.kubernetes.io/name']} }`;
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${namespace}
  labels: { pod-security.kubernetes.io/enforce: restricted }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: ${ingressClass} }
spec: { controller: traefik.io/ingress-controller }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: traefik, namespace: ${namespace} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: urumi-sandbox:traefik }
rules:
  - { apiGroups: [""], resources: [services, secrets, nodes], verbs: [get, list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
  - { apiGroups: [networking.k8s.io], resources: [ingresses, ingressclasses], verbs: [get, list, watch] }
  - { apiGroups: [networking.k8s.io], resources: [ingresses/status], verbs: [update] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: urumi-sandbox:traefik }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: urumi-sandbox:traefik }
subjects: [{ kind: ServiceAccount, name: traefik, namespace: ${namespace} }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: traefik, namespace: ${namespace}, labels: ${labels} }
spec:
  replicas: 1
  selector: { matchLabels: ${labels} }
  template:
    metadata: { labels: ${labels} }
    spec:
      serviceAccountName: traefik
${onRealNode}
      containers:
        - name: traefik
          image: ${images.traefik}
          command: [/usr/local/bin/traefik]
          args:
            - --entryPoints.web.address=:8000
            # No read deadline (Traefik v3's default is 60 s): the console's live-status WebSocket stays open.
            - --entryPoints.web.transport.respondingTimeouts.readTimeout=0
            - --entryPoints.traefik.address=:9000
            - --ping=true
            - --providers.kubernetesingress=true
            - --providers.kubernetesingress.ingressclass=${ingressClass}
            - --global.checkNewVersion=false
            - --global.sendAnonymousUsage=false
            - --log.level=INFO
            - --accesslog=true
          ports:
            - { name: web, containerPort: 8000 }
            - { name: traefik, containerPort: 9000 }
          readinessProbe: { httpGet: { path: /ping, port: 9000 }, periodSeconds: 2 }
          livenessProbe: { httpGet: { path: /ping, port: 9000 }, periodSeconds: 10 }
          resources:
            requests: { cpu: 50m, memory: 64Mi }
            limits: { memory: 192Mi }
${restricted}
---
apiVersion: v1
kind: Service
metadata: { name: traefik, namespace: ${namespace} }
spec:
  type: NodePort
  selector: ${labels}
  ports:
    - { name: web, port: 80, targetPort: 8000, nodePort: ${nodePort} }
`;
}
