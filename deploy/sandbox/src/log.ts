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
