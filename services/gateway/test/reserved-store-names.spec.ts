import request from 'supertest';
import { bearer, Harness, startGateway, uniqueStoreName } from './gateway-harness';

jest.setTimeout(60_000);

/** The platform's own hosts, as the chart passes them (PLATFORM_HOSTS), are names no store can take. */
describe('reserved store names', () => {
  // Unique per run: a name taken by a failing run would otherwise answer 409 on the next.
  const consoleLabel = uniqueStoreName('backoffice');
  const monitoringLabel = uniqueStoreName('grafana');
  let sut: Harness;
  const create = (name: string) =>
    request(sut.app.getHttpServer()).post('/api/v1/stores').set(bearer('alice')).send({ name, engine: 'medusa' });

  beforeAll(async () => {
    sut = await startGateway({
      BASE_DOMAIN: 'stores.example.test',
      PLATFORM_HOSTS: `${consoleLabel}.example.test,${monitoringLabel}.stores.example.test`,
    });
  });

  afterAll(async () => {
    await sut?.close();
  });

  it.each([
    ['the console host', () => consoleLabel],
    ['a platform host under the base domain', () => monitoringLabel],
  ])("answers 400 to a store named like %s's label", async (_case, name) => {
    const res = await create(name());

    expect([res.status, res.body]).toEqual([
      400,
      { statusCode: 400, error: 'Bad Request', message: `name "${name()}" is reserved` },
    ]);
  });

  it('accepts a name no platform host uses', async () => {
    expect((await create(uniqueStoreName('shop'))).status).toBe(202);
  });
});
