/**
 * A service that builds on the platform's store events (proto/EVENTS.md), as small as it can be: it signs in to NATS
 * as the read-only `subscriber` user, keeps a durable consumer of its own on `store.status.>`, and hands each event to
 * a handler, one at a time and in the order published, acknowledging it only once the handler is done. Stopped and
 * started again, it carries on from the first event it had not acknowledged: none missed, none acknowledged twice.
 *
 *   NATS_URL=nats://127.0.0.1:4222 NATS_PASSWORD=<the subscriber key of the NATS auth Secret> \
 *     npx tsx --tsconfig tsconfig.base.json examples/store-subscriber/subscriber.ts
 *
 * (NATS_USER and NATS_DURABLE too, to sign in or read under other names; `npm start` writes the sandbox's to
 * .sandbox/platform-subscriber.env)
 *
 * prints one line per event until Ctrl-C. The payload types come from proto/ by `buf generate` (protobuf-es), as any
 * service would generate them; here they are the platform's own generated code.
 */
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { Step, stepSlug, type StoreStatusChanged, StoreStatusChangedSchema } from '@urumi/contracts';
import { AckPolicy, connect, DeliverPolicy, nanos } from 'nats';

export interface SubscriberOptions {
  readonly servers: string | string[];
  readonly password: string;
  /** The chart's read-only user. */
  readonly user?: string;
  /** The durable consumer's name: one of the chart's nats.subscriber.consumers. */
  readonly durable?: string;
  /** Stops the subscriber after the event in hand (if any) is handled and acknowledged. */
  readonly signal: AbortSignal;
  /** Called once per event, in order; the event is acknowledged when it resolves, and offered again if it throws. */
  readonly onEvent: (event: StoreStatusChanged, meta: { subject: string; sequence: number }) => unknown;
}

const STREAM = 'STORES';
const STATUS_SUBJECTS = 'store.status.>';

/** Reads the store events until `signal` aborts (resolves) or the handler throws (rejects, the event not acknowledged). */
export async function subscribe(options: SubscriberOptions): Promise<void> {
  const { signal, onEvent, durable = 'store-subscriber', user = 'subscriber' } = options;
  const connection = await connect({ servers: options.servers, user, pass: options.password, name: durable });
  try {
    // Made on the first start (from the events published after it); every later start finds it as it was left.
    const manager = await connection.jetstreamManager();
    await manager.consumers.add(STREAM, {
      durable_name: durable,
      filter_subject: STATUS_SUBJECTS,
      deliver_policy: DeliverPolicy.New,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(30_000),
      // One event out at a time: a redelivered event is never overtaken by a later one.
      max_ack_pending: 1,
    });
    const consumer = await connection.jetstream().consumers.get(STREAM, durable);
    while (!signal.aborted) {
      const message = await consumer.next({ expires: 2_000 });
      if (!message) continue;
      // Fields a newer platform adds are ignored: the contract only ever adds fields.
      const event = fromJson(StoreStatusChangedSchema, message.json<JsonValue>(), { ignoreUnknownFields: true });
      try {
        await onEvent(event, { subject: message.subject, sequence: message.seq });
      } catch (error) {
        message.nak();
        throw error;
      }
      // Confirmed by the server: an event counted as acknowledged is never delivered again.
      await message.ackAck();
    }
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  subscribe({
    servers: (process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222').split(','),
    user: process.env['NATS_USER'],
    password: process.env['NATS_PASSWORD'] ?? '',
    durable: process.env['NATS_DURABLE'],
    signal: controller.signal,
    onEvent: (event, { sequence }) =>
      console.log(
        `#${sequence} ${event.name} ${event.step === Step.UNSPECIFIED ? '?' : stepSlug(event.step)}` +
          (event.reason ? ` (${event.reason}: ${event.message})` : ''),
      ),
  }).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
