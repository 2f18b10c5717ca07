import request from 'supertest';
import { EnginesController } from '../src/engines/engines.controller';
import { bearer, Harness, startGateway } from './gateway-harness';

jest.setTimeout(60_000);

describe(EnginesController.name, () => {
  describe('on a cluster that simulates WooCommerce (the sandbox)', () => {
    let sut: Harness;
    const http = () => request(sut.app.getHttpServer());

    beforeAll(async () => {
      sut = await startGateway({ SIMULATED_ENGINES: 'woocommerce' });
    });

    afterAll(() => sut?.close());

    it.each(['alice', 'admin'] as const)(
      'tells %s which engines run for real and which are simulated',
      async (user) => {
        const res = await http().get('/api/v1/engines').set(bearer(user));

        expect(res.status).toBe(200);
        expect(res.body).toEqual([
          { name: 'woocommerce', label: 'WooCommerce', runs: 'simulated' },
          { name: 'medusa', label: 'MedusaJS', runs: 'real' },
        ]);
      },
    );

    it('answers 401 without a token, as the store routes do', async () => {
      const res = await http().get('/api/v1/engines');

      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('documents the operation and its answer in the OpenAPI document', async () => {
      const { body } = await http().get('/api/docs/openapi.json').expect(200);
      const operation = body.paths['/api/v1/engines'].get;

      expect(Object.keys(operation.responses).sort()).toEqual(['200', '401', '429', '503']);
      expect(operation.security).toEqual([{ bearer: [] }]);
      expect(operation.responses['200'].content['application/json'].schema).toEqual({
        type: 'array',
        items: { $ref: '#/components/schemas/EngineView' },
      });
      expect(body.components.schemas.EngineView).toMatchObject({
        required: ['name', 'label', 'runs'],
        properties: {
          name: { type: 'string', enum: ['woocommerce', 'medusa'] },
          label: { type: 'string' },
          runs: { type: 'string', enum: ['real', 'simulated'] },
        },
      });
    });
  });

  describe('on a cluster where every engine runs (production)', () => {
    let sut: Harness;

    beforeAll(async () => {
      sut = await startGateway();
    });

    afterAll(() => sut?.close());

    it('says every engine runs for real', async () => {
      const res = await request(sut.app.getHttpServer()).get('/api/v1/engines').set(bearer('bob'));

      expect(res.body).toEqual([
        { name: 'woocommerce', label: 'WooCommerce', runs: 'real' },
        { name: 'medusa', label: 'MedusaJS', runs: 'real' },
      ]);
    });
  });

  it('refuses to start with an engine it does not know, and says which', async () => {
    await expect(startGateway({ SIMULATED_ENGINES: 'woocommerce,magento' })).rejects.toThrow(
      'SIMULATED_ENGINES names no such engine: "magento"; the engines are woocommerce, medusa',
    );
  });
});
