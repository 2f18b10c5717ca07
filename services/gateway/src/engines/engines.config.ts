import { EngineName, engineNames } from '@urumi/contracts';
import { ConfigError, envList } from '@urumi/runtime';

export interface EnginesConfig {
  /** Engines whose stores are only scheduled here, with no container running (the sandbox's KWOK nodes). */
  readonly simulated: ReadonlySet<EngineName>;
}

export const ENGINES_CONFIG = Symbol('ENGINES_CONFIG');

type Env = Readonly<Record<string, string | undefined>>;

const known = Object.keys(engineNames) as EngineName[];

const isEngineName = (name: string): name is EngineName => (known as string[]).includes(name);

/** SIMULATED_ENGINES: comma-separated engine names (default none: every engine runs for real, as in production). */
export function enginesConfigFromEnv(env: Env): EnginesConfig {
  const names = envList(env, 'SIMULATED_ENGINES', []);
  const unknown = names.filter((name) => !isEngineName(name));
  if (unknown.length > 0) {
    throw new ConfigError(
      `SIMULATED_ENGINES names no such engine: ${unknown.map((name) => `"${name}"`).join(', ')}; ` +
        `the engines are ${known.join(', ')}`,
    );
  }
  return { simulated: new Set(names.filter(isEngineName)) };
}
