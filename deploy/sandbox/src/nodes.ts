/** Fake nodes for KWOK: plain Node objects with the annotation KWOK manages, and room for many stores. */
export function fakeNodesManifest(count: number): string {
  return Array.from({ length: count }, (_, i) => {
    const name = `kwok-node-${i}`;
    return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: ${name}
    kubernetes.io/os: linux
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  allocatable: { cpu: "32", memory: 128Gi, pods: "250", ephemeral-storage: 500Gi }
  capacity: { cpu: "32", memory: 128Gi, pods: "250", ephemeral-storage: 500Gi }
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: fake
    kubeProxyVersion: fake
`;
  }).join('---\n');
}
