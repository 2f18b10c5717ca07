import { eventually, Platform, testSandbox } from '@urumi/sandbox';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { buildConsole, consoleDir, launchChromium, screenshotsDir, signIn } from './browser';

// A real Medusa store migrates, seeds and starts on the sandbox's real node: minutes on two cores.
jest.setTimeout(30 * 60_000);
const READY_TIMEOUT_MS = 25 * 60_000;

// An owner no other test file uses: they share this sandbox's NATS and quota ledger.
const user = { name: 'vera-e2e', role: 'tenant', token: 'vera-e2e-visit-store-token-000' } as const;
const storeName = 'visit-shop';

/**
 * The demo's first half as `npm start` serves it, in a real browser: a MedusaJS store launched from the console runs
 * on the real node, and its "Visit store" link opens the storefront through the ingress controller, listing the
 * products the store's seed made; then the store is deleted from the console.
 */
describe('Visit store on a real MedusaJS store', () => {
  const sandbox = testSandbox();
  const platform = new Platform(sandbox, {
    users: [user],
    env: { LOG_LEVEL: 'warn', CONSOLE_DIR: consoleDir, RESYNC_SECONDS: '5', PROVISION_TIMEOUT_SECONDS: '1500' },
    realStores: true,
    output: () => undefined,
  });
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const row = () => page.locator(`tr[data-store="${storeName}"]`);

  beforeAll(async () => {
    buildConsole();
    const { gatewayUrl } = await platform.start();
    // The store's URL has no port (a cluster's load balancer serves port 80); this sandbox's controller may listen
    // elsewhere, so the browser maps every nip.io name to it.
    const { ingress } = await sandbox.ports();
    browser = await launchChromium([`--host-resolver-rules=MAP *.nip.io 127.0.0.1:${ingress}`]);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await signIn(page, gatewayUrl, user.token);
  });

  afterAll(async () => {
    await browser?.close();
    await platform.stop();
  });

  it('launches from the console and becomes Ready', async () => {
    await page.getByLabel('Store name').fill(storeName);
    // The form starts on the first engine and moves to the first that runs for real once the gateway has said
    // which do: its note on the simulated WooCommerce is that answer on screen (CI once read the radio before it).
    await page.locator('#engine-woocommerce-note').waitFor();
    expect(await page.getByRole('radio', { name: 'MedusaJS', exact: true }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Launch store' }).click();
    await row().locator('.badge:text-is("Ready")').waitFor({ timeout: READY_TIMEOUT_MS });
  });

  it('opens the storefront from "Visit store", listing the seeded products', async () => {
    await row().getByRole('link', { name: storeName, exact: true }).click();
    await page.getByRole('heading', { name: storeName, level: 1 }).waitFor();
    const visit = page.getByRole('link', { name: 'Visit store' });
    expect(await visit.getAttribute('href')).toBe(`http://${storeName}.127.0.0.1.nip.io`);
    const [storefront] = await Promise.all([page.context().waitForEvent('page'), visit.click()]);
    await storefront.getByRole('heading', { name: 'Products' }).waitFor();
    await storefront.locator('#products li', { hasText: 'Urumi T-Shirt' }).waitFor();
    expect(await storefront.locator('#products li').allTextContents()).toEqual(
      expect.arrayContaining(['Urumi T-Shirt', 'Urumi Mug']),
    );
    await storefront.screenshot({ path: join(screenshotsDir, 'visit-store-storefront.png'), fullPage: true });
    await storefront.close();
  });

  it('is deleted from the console, and its namespace goes', async () => {
    await page.getByRole('button', { name: `Delete ${storeName}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${storeName}?` });
    await dialog.getByRole('button', { name: `Delete ${storeName}` }).click();
    await eventually(
      async () =>
        expect(
          await sandbox.kubectl(['get', 'namespace', '--ignore-not-found', '-o', 'name', `store-${storeName}`]),
        ).toBe(''),
      5 * 60_000,
      1000,
    );
    expect(pageErrors).toEqual([]);
  });
});
