import {
  create,
  encode,
  Engine,
  Step,
  StoreStatusChangedSchema,
  streams,
  subjects,
  timestampNow,
} from '@urumi/contracts';
import { headers, NatsConnection } from 'nats';

/** What every store command carries, as JSON. */
export interface StoreCommand {
  readonly storeId: string;
  readonly name: string;
}

export interface StoreRef {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
}

export interface StatusDetails {
  readonly reason?: string;
  readonly message?: string;
  readonly url?: string;
  /** Default `test:<id>:<step>`: another id announces the same step again. */
  readonly msgId?: string;
}

/** A status event as quota, the provisioner or cleanup publish it; resolves with its stream sequence. */
export async function publishStatus(
  nc: NatsConnection,
  store: StoreRef,
  step: Step,
  details: StatusDetails = {},
): Promise<number> {
  const event = create(StoreStatusChangedSchema, {
    storeId: store.id,
    name: store.name,
    engine: Engine.WOOCOMMERCE,
    owner: store.owner,
    step,
    reason: details.reason ?? '',
    message: details.message ?? '',
    url: details.url ?? '',
    occurredAt: timestampNow(),
  });
  const h = headers();
  h.set('Nats-Msg-Id', details.msgId ?? `test:${store.id}:${step}`);
  const ack = await nc
    .jetstream()
    .publish(subjects.status(step), JSON.stringify(encode(StoreStatusChangedSchema, event)), { headers: h });
  return ack.seq;
}

/** The commands in STORES on `subject` (`subjects.createStore`, `subjects.deleteStore`), oldest first. */
export async function commandsOn(nc: NatsConnection, subject: string): Promise<StoreCommand[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(streams.stores.name, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return [];
  const reader = await nc.jetstream().consumers.get(streams.stores.name, { filterSubjects: subject });
  const commands: StoreCommand[] = [];
  for await (const message of await reader.fetch({ max_messages: count, expires: 2_000 })) {
    commands.push(message.json<StoreCommand>());
    if (commands.length === count) break;
  }
  return commands;
}

/** Every create command in STORES for the store name `name`, oldest first. */
export async function createCommandsFor(nc: NatsConnection, name: string): Promise<StoreCommand[]> {
  return (await commandsOn(nc, subjects.createStore)).filter((command) => command.name === name);
}
