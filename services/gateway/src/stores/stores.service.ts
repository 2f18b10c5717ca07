import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  create,
  CreateStoreCommandSchema,
  DeleteStoreCommandSchema,
  encode,
  engineNames,
  Store,
  storeNameProblem,
  subjects,
  timestampNow,
} from '@urumi/contracts';
import { JetStreamPublisher, PublishError } from '@urumi/messaging';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway.config';
import { randomUUID } from 'node:crypto';
import { ReadModel, Viewer } from '../read-model/read-model.service';
import { queuedStore, StoreEvent } from '../read-model/projection';
import { StoreRepository } from '../read-model/store.repository';
import { RequestOrigin } from '../http/request-context';
import { CreateStoreDto } from './dto/create-store.dto';
import type { IdempotentRun } from '../idempotency';
import {
  CommandNotAcceptedError,
  StoreDeletedSinceError,
  StoreNameReservedError,
  StoreNameTakenError,
  StoreNotFoundError,
} from './store.errors';

/**
 * The store rules: a name is held by one store platform-wide, a tenant acts only on its own stores,
 * and a request is accepted once its command is durably in JetStream. Nothing here talks to Kubernetes.
 */
@Injectable()
export class StoresService {
  private readonly logger = new Logger(StoresService.name);

  constructor(
    private readonly repository: StoreRepository,
    private readonly readModel: ReadModel,
    @Inject(JetStreamPublisher) private readonly publisher: JetStreamPublisher,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /**
   * With an Idempotency-Key, every run of the request creates the store `run.resourceId`. One that resumes a
   * run which died or failed in doubt gets the store that run started, whatever has become of it since (quota's
   * rejection freed its name, say), not a second store or "name is taken".
   */
  async create(viewer: Viewer, dto: CreateStoreDto, origin: RequestOrigin, run?: IdempotentRun): Promise<Store> {
    // The DTO knows the fixed list; only the configuration knows the platform's own hosts.
    const reserved = storeNameProblem(dto.name, this.config.reservedStoreNames);
    if (reserved) throw new StoreNameReservedError(reserved);
    const id = run?.resourceId ?? randomUUID();
    if (run?.resumed) {
      const earlier = await this.repository.lookup(id);
      if (earlier === 'removed') throw new StoreDeletedSinceError(id);
      if (earlier) return earlier;
    }
    if (!(await this.repository.reserveName(dto.name, id, (holder) => this.isAbandoned(holder)))) {
      throw new StoreNameTakenError(dto.name);
    }
    const command = create(CreateStoreCommandSchema, {
      storeId: id,
      name: dto.name,
      engine: engineNames[dto.engine],
      owner: viewer.name,
      requestedBy: origin.actor,
      requestId: origin.requestId,
      requestedAt: timestampNow(),
    });
    let sequence: bigint;
    try {
      sequence = await this.publish(
        subjects.createStore,
        encode(CreateStoreCommandSchema, command),
        `create:${id}`,
        origin,
      );
    } catch (error) {
      // Only a command the stream surely did not store frees the name; one in doubt may yet be a store.
      if (error instanceof CommandNotAcceptedError && !error.inDoubt) {
        await this.repository.releaseName(dto.name, id).catch(() => undefined);
      }
      throw error;
    }
    this.logger.log({
      msg: 'Accepted store creation',
      storeId: id,
      name: dto.name,
      owner: viewer.name,
      requestId: origin.requestId,
    });
    return (await this.applyLocally(id, { kind: 'create', sequence, command })) ?? queuedStore(command, sequence);
  }

  async delete(viewer: Viewer, id: string, origin: RequestOrigin): Promise<Store> {
    // Re-issued each time (deleting is idempotent), under a msgId of its own: a store stuck Deleting is re-driven.
    const store = await this.find(viewer, id);
    const command = create(DeleteStoreCommandSchema, {
      storeId: id,
      name: store.name,
      owner: store.owner,
      requestedBy: origin.actor,
      requestId: origin.requestId,
      requestedAt: timestampNow(),
    });
    const sequence = await this.publish(
      subjects.deleteStore,
      encode(DeleteStoreCommandSchema, command),
      `delete:${id}:${randomUUID()}`,
      origin,
    );
    this.logger.log({
      msg: 'Accepted store deletion',
      storeId: id,
      name: store.name,
      owner: store.owner,
      requestId: origin.requestId,
    });
    return (await this.applyLocally(id, { kind: 'delete', sequence, command })) ?? store;
  }

  /** The store as of now: one created or changed through another gateway replica a moment ago included. */
  async find(viewer: Viewer, id: string): Promise<Store> {
    await this.readModel.sync();
    const store = this.readModel.get(viewer, id);
    if (!store) throw new StoreNotFoundError(id);
    return store;
  }

  /** Resolves once the command is durably in JetStream, with its stream sequence. */
  private async publish(subject: string, payload: unknown, msgId: string, origin: RequestOrigin): Promise<bigint> {
    try {
      const ack = await this.publisher.publishJson(subject, payload, {
        msgId,
        headers: { 'Urumi-Request-Id': origin.requestId },
      });
      return BigInt(ack.seq);
    } catch (error) {
      this.logger.error({
        msg: 'Could not publish a command',
        subject,
        requestId: origin.requestId,
        error: String(error),
      });
      throw new CommandNotAcceptedError(!(error instanceof PublishError) || isInDoubt(error));
    }
  }

  /**
   * Shows the new step at once (the projector would, a moment later). The command is already durable,
   * so a failure here only delays what the read model shows.
   */
  private async applyLocally(id: string, event: StoreEvent): Promise<Store | undefined> {
    try {
      const { projection, revision } = await this.repository.apply(id, event, this.readModel.known(id));
      if (projection.action === 'put' && revision !== undefined) {
        this.readModel.accept({ id, store: projection.store, revision });
      }
      return projection.action === 'put' ? projection.store : await this.repository.get(id);
    } catch (error) {
      this.logger.warn({ msg: 'Read model update deferred to the projector', storeId: id, error: String(error) });
      return undefined;
    }
  }

  /**
   * A name held by a store id the read model has never seen (its request died before publishing). Only
   * a caught-up read model can tell: while it catches up, every store would look unseen.
   */
  private isAbandoned(holderId: string): boolean {
    return this.readModel.isReady() && !this.readModel.has(holderId);
  }
}

/** Whether the stream may have stored a command whose publish failed: only a refusal is proof it did not. */
function isInDoubt(error: PublishError): boolean {
  return error.reason !== 'no-stream' && error.reason !== 'rejected';
}
