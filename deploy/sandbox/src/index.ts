export { Platform, PLATFORM_NAMESPACE, SERVICE_NODE_FLAGS, SERVICES } from './platform';
export type { PlatformInfo, PlatformOptions, ServiceName } from './platform';
export { Sandbox, conventionalPorts } from './sandbox';
export type { ComponentStatus, Ports, SandboxOptions } from './sandbox';
export { ensureToolchain } from './toolchain';
export type { Toolchain } from './toolchain';
export { eventually } from './testing/eventually';
export { testSandbox } from './testing/test-sandbox';
export { versions } from './versions';
