import WebSocket from 'ws';
import type { LiveMessage } from '@urumi/contracts';
import { SeededUser } from '../tokens';

/**
 * What a console sees: every store's steps as the gateway streams them over /api/v1/live, timed on arrival. The
 * benchmark waits on this rather than polling the list, so waiting costs the platform what one console costs it.
 */
export class LiveStores {
  private readonly readyAt = new Map<string, number>();
  private readonly deletedAt = new Map<string, number>();
  private readonly failed = new Map<string, string>();
  private socket?: WebSocket;

  constructor(
    private readonly gatewayUrl: string,
    private readonly admin: SeededUser,
  ) {}

  async open(): Promise<void> {
    const token = Buffer.from(this.admin.token).toString('base64url');
    const socket = new WebSocket(`${this.gatewayUrl.replace(/^http/, 'ws')}/api/v1/live`, [
      'urumi.v1',
      `bearer.${token}`,
    ]);
    socket.on('message', (data) => this.observe(JSON.parse(String(data)) as LiveMessage));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    this.socket = socket;
  }

  close(): void {
    this.socket?.close();
  }

  /** When each of `ids` was Ready (performance.now()); throws on a failed store or past the timeout. */
  async ready(ids: readonly string[], timeoutMs: number): Promise<Map<string, number>> {
    await this.until(
      () => ids.every((id) => this.readyAt.has(id)),
      timeoutMs,
      () => {
        const waiting = ids.filter((id) => !this.readyAt.has(id));
        return `${ids.length - waiting.length} of ${ids.length} stores Ready (e.g. ${waiting[0]} is not)`;
      },
      ids,
    );
    return new Map(ids.map((id) => [id, this.readyAt.get(id) ?? Number.NaN]));
  }

  /** When each of `ids` was gone from the gateway's read model (performance.now()). */
  async deleted(ids: readonly string[], timeoutMs: number): Promise<Map<string, number>> {
    await this.until(
      () => ids.every((id) => this.deletedAt.has(id)),
      timeoutMs,
      () => {
        const left = ids.filter((id) => !this.deletedAt.has(id)).length;
        return `${left} of ${ids.length} stores still listed`;
      },
      ids,
    );
    return new Map(ids.map((id) => [id, this.deletedAt.get(id) ?? Number.NaN]));
  }

  private observe(message: LiveMessage): void {
    const now = performance.now();
    if (message.type === 'store') {
      if (message.store.step === 'ready' && !this.readyAt.has(message.store.id))
        this.readyAt.set(message.store.id, now);
      if (message.store.step === 'failed') this.failed.set(message.store.id, message.store.reason ?? 'no reason');
    } else if (message.type === 'deleted') this.deletedAt.set(message.id, now);
  }

  private async until(done: () => boolean, timeoutMs: number, progress: () => string, ids: readonly string[]) {
    for (const giveUpAt = performance.now() + timeoutMs; !done();) {
      const failed = ids.find((id) => this.failed.has(id));
      if (failed) throw new Error(`store ${failed} failed: ${this.failed.get(failed)}`);
      if (performance.now() > giveUpAt) throw new Error(`timed out: ${progress()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
