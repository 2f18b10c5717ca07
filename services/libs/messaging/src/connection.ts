import { LoggerService } from '@nestjs/common';
import { connect, DebugEvents, Events, NatsConnection, Status } from 'nats';
import { describeError } from './errors';

export interface NatsConnectionOptions {
  readonly servers: string | readonly string[];
  /** Shown by the server (connz) for this client: the service name. */
  readonly name: string;
}

/**
 * Connects and keeps reconnecting forever (also while the first connect fails), logging every
 * disconnect and reconnect. `onStatus` sees each status change.
 */
export async function connectNats(
  options: NatsConnectionOptions,
  logger: LoggerService,
  onStatus: (status: Status) => void = () => undefined,
): Promise<NatsConnection> {
  const connection = await connect({
    servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    waitOnFirstConnect: true,
    // Notice a server that vanished without closing the socket within about 30 s, not the default 4 min.
    pingInterval: 10_000,
    maxPingOut: 3,
  });
  logger.log({ msg: 'Connected to NATS', server: connection.getServer(), name: options.name });
  void logStatusChanges(connection, options.name, logger, onStatus);
  return connection;
}

async function logStatusChanges(
  connection: NatsConnection,
  name: string,
  logger: LoggerService,
  onStatus: (status: Status) => void,
): Promise<void> {
  for await (const status of connection.status()) {
    onStatus(status);
    const data = typeof status.data === 'string' ? status.data : describeError(status.data);
    switch (status.type) {
      case Events.Disconnect:
        logger.warn({ msg: 'Disconnected from NATS', server: data, name });
        break;
      case Events.Reconnect:
        logger.log({ msg: 'Reconnected to NATS', server: data, name });
        break;
      case Events.LDM:
        logger.warn({ msg: 'NATS server is entering lame duck mode', server: data, name });
        break;
      case Events.Error:
        logger.error({ msg: 'NATS connection error', error: data, name });
        break;
      case DebugEvents.Reconnecting:
        logger.debug?.({ msg: 'Reconnecting to NATS', name });
        break;
    }
  }
  const error = await connection.closed();
  if (error) logger.error({ msg: 'NATS connection closed', error: describeError(error), name });
  else logger.log({ msg: 'Closed NATS connection', name });
}
