import autocannon from 'autocannon';

/** Where `[<n>]` stands in a body or header value, each request gets a number of its own (0, 1, 2, …). */
export const REQUEST_NUMBER = '[<n>]';

/** What to load, sent to the load generator once its parent has pinned it to a core. */
export interface LoadSpec {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Requests in flight at once, one per connection. */
  readonly connections: number;
  /** Runs for this long, or (with `amount`) until that many requests have been answered. */
  readonly durationS?: number;
  readonly amount?: number;
}

/** Every response's latency (ms, from autocannon's own clock, unrounded) and what went wrong. */
export interface LoadRun {
  readonly latenciesMs: Float64Array;
  /** From the start to the last answer. */
  readonly durationS: number;
  readonly non2xx: number;
  readonly errors: number;
}

function numbered(text: string, n: number): string {
  return text.split(REQUEST_NUMBER).join(String(n));
}

/**
 * Requests whose body and headers carry their number, e.g. a store name no other request takes; none when the spec
 * has no `[<n>]`, since autocannon then rebuilds every request rather than sending the same bytes again.
 */
function numberedRequests(spec: LoadSpec): autocannon.Request[] | undefined {
  const texts = [spec.body ?? '', ...Object.values(spec.headers)];
  if (!texts.some((text) => text.includes(REQUEST_NUMBER))) return undefined;
  let next = 0;
  const request: autocannon.Request = {
    setupRequest: (request) => {
      const n = next++;
      const headers = Object.fromEntries(
        Object.entries(spec.headers).map(([name, value]) => [name, numbered(value, n)]),
      );
      return { ...request, headers, body: spec.body === undefined ? undefined : numbered(spec.body, n) };
    },
  };
  return [request];
}

/**
 * autocannon's histogram keeps whole milliseconds, too coarse for a floor answering in one or two, and its duration runs
 * to the tick after the last answer: both are taken from its start and response events instead.
 */
function run(spec: LoadSpec): Promise<LoadRun> {
  const latencies: number[] = [];
  let startedAt = 0;
  let lastAnswerAt = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        method: spec.method,
        headers: { ...spec.headers },
        body: spec.body,
        connections: spec.connections,
        // autocannon refuses a duration it is given as undefined.
        ...(spec.amount === undefined ? { duration: spec.durationS } : { amount: spec.amount }),
        requests: numberedRequests(spec),
      },
      (error: unknown, result) => {
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else {
          resolve({
            latenciesMs: Float64Array.from(latencies),
            durationS: (lastAnswerAt - startedAt) / 1000,
            non2xx: result.non2xx,
            errors: result.errors,
          });
        }
      },
    );
    instance.on('start', () => (startedAt = performance.now()));
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
      lastAnswerAt = performance.now();
    });
  });
}

// Forked by bench/gateway.ts: one spec in, one run out, over IPC.
if (require.main === module) {
  process.once('message', (spec: LoadSpec) => {
    run(spec).then(
      (result) => process.send?.(result, () => process.disconnect()),
      (error: unknown) => {
        console.error(`[load-generator] ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  });
}
