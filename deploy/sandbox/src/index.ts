export { Sandbox, conventionalPorts } from './sandbox';
export type { ComponentStatus, Ports, SandboxOptions } from './sandbox';
export { ensureToolchain } from './toolchain';
export type { Toolchain } from './toolchain';
export { testSandbox } from './testing/test-sandbox';
export { versions } from './versions';
