import { Platform, testSandbox } from '@urumi/sandbox';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { buildConsole, consoleDir, launchChromium, screenshotsDir, signIn } from './browser';

jest.setTimeout(300_000);

// An owner no other test file uses: they share this sandbox's NATS.
const user = { name: 'carol-e2e', role: 'tenant', token: 'carol-e2e-engines-token-000000' } as const;

/**
 * The launch form in a real browser against the sandbox's gateway, as `npm start` runs it: WooCommerce is only
 * simulated on this sandbox, and the form says so.
 */
describe('the launch form on the sandbox', () => {
  const platform = new Platform(testSandbox(), {
    users: [user],
    services: ['gateway'],
    env: { LOG_LEVEL: 'warn', CONSOLE_DIR: consoleDir },
    output: () => undefined,
  });
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildConsole();
    mkdirSync(screenshotsDir, { recursive: true });
    const { gatewayUrl } = await platform.start();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await signIn(page, gatewayUrl, user.token);
  });

  afterAll(async () => {
    await browser?.close();
    await platform.stop();
  });

  it('describes WooCommerce as simulated, not MedusaJS, and starts on MedusaJS', async () => {
    const woocommerce = page.getByRole('radio', { name: 'WooCommerce', exact: true });
    const medusa = page.getByRole('radio', { name: 'MedusaJS', exact: true });
    await page.locator('#engine-woocommerce-note').waitFor();
    await page.screenshot({ path: join(screenshotsDir, 'engines-launch-form.png'), fullPage: true });

    expect(await woocommerce.getAttribute('aria-describedby')).toBe('engine-woocommerce-note');
    expect((await page.locator('#engine-woocommerce-note').textContent())?.trim()).toBe(
      'Simulated on this cluster: its pods are scheduled, no container runs.',
    );
    expect(await medusa.getAttribute('aria-describedby')).toBeNull();
    expect(await medusa.isChecked()).toBe(true);
    expect(await woocommerce.isChecked()).toBe(false);
    expect(pageErrors).toEqual([]);
  });
});
