import { nanos, RetentionPolicy, StorageType, StreamConfig } from 'nats';
import { DEAD_LETTER_STREAM, defineStream, streamConfigOf, streamDiffers } from './streams';

describe(defineStream.name, () => {
  it('defaults the duplicate window to two minutes', () => {
    expect(defineStream({ name: 'STORES', subjects: ['store.>'] }).duplicateWindowMs).toBe(120_000);
  });

  it.each([
    [{ name: 'BAD.NAME', subjects: ['a.>'] }, /stream name/],
    [{ name: 'EMPTY', subjects: [] }, /at least one subject/],
    [{ name: 'WINDOW', subjects: ['a'], duplicateWindowMs: 0 }, /duplicateWindowMs/],
    [{ name: 'AGE', subjects: ['a'], duplicateWindowMs: 10_000, maxAgeMs: 5_000 }, /cannot exceed maxAgeMs/],
  ])('refuses %p', (definition, message) => {
    expect(() => defineStream(definition)).toThrow(message);
  });
});

describe(streamConfigOf.name, () => {
  it('keeps as many copies as asked for', () => {
    expect(streamConfigOf(DEAD_LETTER_STREAM, 3).num_replicas).toBe(3);
  });

  it('declares the dead-letter stream as file-backed, limits retention, kept 14 days', () => {
    expect(streamConfigOf(DEAD_LETTER_STREAM)).toEqual({
      name: 'DEADLETTER',
      subjects: ['deadletter.>'],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      num_replicas: 1,
      duplicate_window: nanos(120_000),
      max_age: nanos(14 * 24 * 3_600_000),
    });
  });
});

describe(streamDiffers.name, () => {
  const definition = defineStream({ name: 'S', subjects: ['a.>', 'b.>'], duplicateWindowMs: 60_000 });
  const existing = (patch: Partial<StreamConfig>) =>
    ({
      subjects: ['b.>', 'a.>'],
      duplicate_window: nanos(60_000),
      max_age: nanos(3_600_000),
      num_replicas: 1,
      ...patch,
    }) as StreamConfig;

  it('ignores subject order and fields the definition leaves open', () => {
    expect(streamDiffers(existing({}), definition)).toBe(false);
  });

  it('notices changed subjects or duplicate window', () => {
    expect(streamDiffers(existing({ subjects: ['a.>'] }), definition)).toBe(true);
    expect(streamDiffers(existing({ duplicate_window: nanos(1_000) }), definition)).toBe(true);
  });

  it('notices a replica count other than the one asked for', () => {
    expect(streamDiffers(existing({}), definition, 3)).toBe(true);
    expect(streamDiffers(existing({ num_replicas: 3 }), definition, 3)).toBe(false);
  });

  it('notices a changed max age when the definition sets one', () => {
    expect(streamDiffers(existing({}), { ...definition, maxAgeMs: 7_200_000 })).toBe(true);
  });
});
