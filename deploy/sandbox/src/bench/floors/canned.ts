import { readFileSync } from 'node:fs';

/** One answer of the gateway's, as it went over the wire: every floor sends these very bytes. */
export interface CannedResponse {
  readonly status: number;
  /** Name and value pairs in the gateway's order and case, less those each server writes itself (HOP_HEADERS). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

/** The endpoints a floor answers, the gateway's paths and methods. */
export const ENDPOINTS = ['list', 'getOne', 'create'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];
export type CannedResponses = Readonly<Record<Endpoint, CannedResponse>>;

/** Headers of the connection and the clock, which every HTTP server writes itself: not replayed, not compared. */
export const HOP_HEADERS: ReadonlySet<string> = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** The floor's settings, from the environment the benchmark starts it with. */
export function floorSettings(): { port: number; responses: CannedResponses } {
  const file = process.env['CANNED_RESPONSES'];
  if (!file) throw new Error('CANNED_RESPONSES must name the JSON file of the answers to replay');
  return {
    port: Number(process.env['PORT'] ?? 0),
    responses: JSON.parse(readFileSync(file, 'utf8')) as CannedResponses,
  };
}
