/** Progress output for long-running work: one line per step, and a heartbeat while waiting. */
export const log = {
  step(message: string): void {
    process.stdout.write(`[sandbox] ${message}\n`);
  },
  warn(message: string): void {
    process.stderr.write(`[sandbox] warning: ${message}\n`);
  },
};

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** Runs `work`, printing "<label>… <elapsed>" every `everyMs` until it settles. */
export async function withHeartbeat<T>(label: string, work: Promise<T>, everyMs = 30_000): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => log.step(`${label}… ${formatDuration(Date.now() - started)}`), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Counts a service's JSON log line at one of `levels` under `<service>: <msg>` (a line that is not one of ours, or
 * at another level, counts nothing): what a run's services complained of, without keeping their output.
 */
export function countLogLine(counts: Record<string, number>, line: string, levels: readonly string[]): void {
  const json = line.indexOf('{');
  if (json < 0 || !levels.some((level) => line.includes(`"level":"${level}"`))) return;
  try {
    const entry = JSON.parse(line.slice(json)) as { service?: string; msg?: string; context?: string };
    const key = `${entry.service ?? 'unknown'}: ${entry.msg ?? entry.context ?? 'no message'}`;
    counts[key] = (counts[key] ?? 0) + 1;
  } catch {
    // Not a log line of ours.
  }
}
