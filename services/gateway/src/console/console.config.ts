import { envString } from '@urumi/runtime';
import { resolve } from 'node:path';

export interface ConsoleConfig {
  /** The built Angular console (index.html and its assets), served at `/`. */
  readonly dir: string;
}

/** `CONSOLE_DIR` (default: the Nx build output, dist/frontend/browser, from the working directory). */
export function consoleConfigFromEnv(env: NodeJS.ProcessEnv): ConsoleConfig {
  return { dir: resolve(envString(env, 'CONSOLE_DIR', 'dist/frontend/browser')) };
}
