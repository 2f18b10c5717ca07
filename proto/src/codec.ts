import { DescMessage, fromJson, JsonValue, MessageShape, toJson } from '@bufbuild/protobuf';

/**
 * Messages travel as protobuf JSON, so a person can read them in the dead-letter stream. Fields a
 * newer producer adds are ignored, so v1 consumers keep working while the contract grows.
 */
export function encode<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue {
  return toJson(schema, message);
}

/** Throws when the value is not a `schema` message (wrong field types, unknown enum names, …). */
export function decode<Desc extends DescMessage>(schema: Desc, value: unknown): MessageShape<Desc> {
  return fromJson(schema, value as JsonValue, { ignoreUnknownFields: true });
}
