import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Runs a command with its output appended to `logFile` (too long for the terminal); rejects with the log's tail. */
export async function runLogged(
  command: string,
  args: readonly string[],
  logFile: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<void> {
  await mkdir(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: options.env, cwd: options.cwd });
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code === 0) return;
    const tail = (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-25).join('\n');
    throw new Error(`\`${[command, ...args].join(' ')}\` failed (exit ${code ?? 'signal'}); ${logFile} ends:\n${tail}`);
  } finally {
    closeSync(fd);
  }
}
