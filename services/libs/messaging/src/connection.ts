import { LoggerService } from '@nestjs/common';
import { connect, DebugEvents, ErrorCode, Events, NatsConnection, NatsError, Status } from 'nats';
import { describeError } from './errors';
import { NatsSettings } from './settings';

/**
 * Connects and keeps reconnecting forever (also while the first connect fails), logging every
 * disconnect and reconnect. `name` is shown by the server (connz) for this client. `onStatus` sees each
 * status change. Credentials the server refuses end the attempt with an error that says so.
 */
export async function connectNats(
  settings: NatsSettings,
  name: string,
  logger: LoggerService,
  onStatus: (status: Status) => void = () => undefined,
): Promise<NatsConnection> {
  const { servers, user, password } = settings;
  const connection = await connect({
    servers: typeof servers === 'string' ? servers : [...servers],
    name,
    ...(user ? { user, pass: password } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    waitOnFirstConnect: true,
    // Notice a server that vanished without closing the socket within about 30 s, not the default 4 min.
    pingInterval: 10_000,
    maxPingOut: 3,
  }).catch((error: unknown) => {
    if (error instanceof NatsError && error.code === ErrorCode.AuthorizationViolation) {
      const who = user ? `user "${user}" with the given password` : 'a client without credentials';
      throw new Error(`NATS refused ${who}: check NATS_USER and NATS_PASSWORD against the server's users`, {
        cause: error,
      });
    }
    throw error;
  });
  logger.log({ msg: 'Connected to NATS', server: connection.getServer(), name, ...(user ? { user } : {}) });
  void logStatusChanges(connection, name, logger, onStatus);
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
