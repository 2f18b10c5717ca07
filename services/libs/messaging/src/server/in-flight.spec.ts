import { InFlight } from './in-flight';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => undefined as void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe(InFlight.name, () => {
  it('counts free slots down and back up', async () => {
    const sut = new InFlight(2);
    const task = deferred();

    sut.track(task.promise);
    expect(sut.free).toBe(1);

    task.resolve();
    await sut.settled(1_000);
    expect(sut.free).toBe(2);
  });

  it('waits for a free slot when full', async () => {
    const sut = new InFlight(1);
    const task = deferred();
    sut.track(task.promise);
    let waited = false;

    const waiting = sut.waitForFreeSlot(new AbortController().signal).then(() => (waited = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(waited).toBe(false);

    task.resolve();
    await waiting;
    expect(waited).toBe(true);
  });

  it('stops waiting for a slot when aborted', async () => {
    const sut = new InFlight(1);
    sut.track(deferred().promise);
    const abort = new AbortController();

    const waiting = sut.waitForFreeSlot(abort.signal);
    abort.abort();

    await expect(waiting).resolves.toBeUndefined();
  });

  it('reports false when tasks outlive the settle timeout', async () => {
    const sut = new InFlight(1);
    sut.track(deferred().promise);

    await expect(sut.settled(30)).resolves.toBe(false);
  });

  it('refuses a limit below one', () => {
    expect(() => new InFlight(0)).toThrow(/concurrency/);
  });
});
