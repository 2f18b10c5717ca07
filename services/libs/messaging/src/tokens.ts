/** The module's NatsConnection (reconnects forever; drained on application shutdown). */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const MESSAGING_STREAMS = Symbol('MESSAGING_STREAMS');
/** NatsSettings.replicas: copies of each stream and bucket this service creates. */
export const JETSTREAM_REPLICAS = Symbol('JETSTREAM_REPLICAS');
