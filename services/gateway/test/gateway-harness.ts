import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { scratchFile, testSandbox } from '@urumi/sandbox';
import { createGateway } from '../src/main';

export const users = {
  admin: { name: 'ada', role: 'admin', token: 'admin-token-0123456789abcdef' },
  alice: { name: 'alice', role: 'tenant', token: 'alice-token-0123456789abcdef' },
  bob: { name: 'bob', role: 'tenant', token: 'bob-token-0123456789abcdef' },
} as const;

export type User = keyof typeof users;

export const bearer = (user: User) => ({ Authorization: `Bearer ${users[user].token}` });

export interface Harness {
  readonly app: NestFastifyApplication;
  readonly url: string;
  readonly natsUrl: string;
  close(): Promise<void>;
}

/** A real gateway on a free loopback port, against the test sandbox's NATS, with three seeded users. */
export async function startGateway(env: Record<string, string> = {}): Promise<Harness> {
  const tokensFile = scratchFile('tokens.json', Object.values(users));
  const natsUrl = await testSandbox().natsUrl();
  const app = await createGateway({
    NATS_URL: natsUrl,
    AUTH_MODE: 'tokens',
    AUTH_TOKENS_FILE: tokensFile,
    GATEWAY_PORT: '8080',
    GATEWAY_METRICS_PORT: '0',
    ALLOWED_ORIGINS: 'http://console.test',
    LOG_LEVEL: 'warn',
    // Generous, so polling tests don't trip them; the rate-limit test sets its own.
    RATE_LIMIT_USER_PER_MINUTE: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '100000',
    RATE_LIMIT_CREATES_PER_MINUTE: '100000',
    ...env,
  });
  await app.listen(0, '127.0.0.1');
  await app.startAllMicroservices();
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, natsUrl, close: () => app.close() };
}

/** A store name no other test uses. */
export function uniqueStoreName(prefix = 'shop'): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}
