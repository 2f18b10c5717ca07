import { spawn, SpawnOptions } from 'node:child_process';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout = '',
  ) {
    const tail = stderr.trim().split('\n').slice(-15).join('\n');
    super(`\`${command}\` failed (exit ${exitCode ?? 'signal'})${tail ? `:\n${tail}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to completion, capturing its output; rejects with the tail of stderr on failure. */
export function exec(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { input?: string; onStderrLine?: (line: string) => void } = {},
): Promise<ExecResult> {
  const { input, onStderrLine, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...spawnOptions,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      if (!onStderrLine) return;
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(onStderrLine);
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(`${command} is not installed or not on PATH`) : error),
    );
    child.on('close', (code) => {
      const result = { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
      if (code === 0) resolve(result);
      else reject(new CommandError([command, ...args].join(' '), code, result.stderr, result.stdout));
    });
    // A command may exit without reading its input; its exit code tells what happened.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
