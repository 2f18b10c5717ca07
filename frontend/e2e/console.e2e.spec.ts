import { Platform, testSandbox } from '@urumi/sandbox';
import { join } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import {
  buildConsole,
  consoleDir,
  freshScreenshotsDir,
  launchChromium,
  screenProbe,
  signIn as signInAs,
} from './browser';

jest.setTimeout(300_000);

/** Where a store's provisioning ends on the sandbox (the provisioner and cleanup run in the platform). */
const expectedFinalStatus = 'Ready';
/** How long a step may take to show without a reload. */
const STEP_TIMEOUT_MS = 60_000;

// Owners no other test file uses: they share this sandbox's NATS and quota ledger.
const users = [
  { name: 'admin-e2e', role: 'admin', token: 'admin-e2e-console-token-000000' },
  { name: 'alice-e2e', role: 'tenant', token: 'alice-e2e-console-token-000000' },
  { name: 'bob-e2e', role: 'tenant', token: 'bob-e2e-console-token-00000000' },
] as const;
type UserName = (typeof users)[number]['name'];

interface Probe {
  listShownAt?: number;
  seen: Record<string, number>;
}

/**
 * The demo's dashboard flow in a real browser: the console as the gateway serves it, the gateway and
 * quota as processes, the sandbox's NATS. Each step leaves a screenshot in .sandbox/e2e-screenshots.
 */
describe('console end to end', () => {
  const platform = new Platform(testSandbox(), {
    users,
    env: {
      LOG_LEVEL: 'warn',
      CONSOLE_DIR: consoleDir,
      QUOTA_MAX_CREATES_PER_SOURCE_PER_HOUR: '100000',
      QUOTA_MAX_ACTIVE_STORES: '100000',
    },
    output: () => undefined,
  });
  const storeName = `e2e-${Date.now().toString(36)}`;
  let gatewayUrl = '';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let screenshotsDir = '';
  let shot = 0;
  const pageErrors: string[] = [];

  const log = (line: string) => process.stdout.write(`[console-e2e] ${line}\n`);
  const screenshot = async (name: string) =>
    page.screenshot({ path: join(screenshotsDir, `${String(++shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  const row = (name: string) => page.locator(`tr[data-store="${name}"]`);
  const probe = () => page.evaluate(() => (window as unknown as { __urumi: Probe }).__urumi);

  async function signIn(user: UserName): Promise<void> {
    const { token } = users.find((u) => u.name === user)!;
    await signInAs(page, gatewayUrl, token);
    await page.locator('table.stores, urumi-stores .state[role="status"]:not([aria-busy])').first().waitFor();
  }

  async function openDetail(): Promise<void> {
    await row(storeName).getByRole('link', { name: storeName, exact: true }).click();
    await page.getByRole('heading', { name: storeName, level: 1 }).waitFor();
  }

  async function signOut(): Promise<void> {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  beforeAll(async () => {
    const started = Date.now();
    buildConsole();
    log(`console built or found current in ${Date.now() - started} ms`);
    screenshotsDir = freshScreenshotsDir();
    ({ gatewayUrl } = await platform.start());
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(screenProbe);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      // Sign-in finds a tenant's role by the 403 its audit-trail probe gets: expected, not an error.
      if (message.type() === 'error' && !message.text().includes('status of 403')) pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await platform.stop();
  });

  it('sends a visitor to sign in, and signs alice in with her token', async () => {
    await page.goto(`${gatewayUrl}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot('sign-in');

    await signIn('alice-e2e');
    expect(await page.locator('.live').getAttribute('data-state')).toMatch(/online|connecting/);
    await page.locator('.live[data-state="online"]').waitFor();
    await screenshot('stores-signed-in');

    await page.reload();
    await page.locator('table.stores, urumi-stores .state[role="status"]:not([aria-busy])').first().waitFor();
    const { listShownAt } = await probe();
    const navigationStart = await page.evaluate(() => performance.timeOrigin);
    log(`page load → store list shown: ${Math.round(listShownAt! - navigationStart)} ms`);
  });

  it(`creates a store and sees it go Queued → … → ${expectedFinalStatus} without reloading`, async () => {
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    await page.getByLabel('Store name').fill('Bad_Name');
    await page.getByText('name may contain only lowercase letters').waitFor();
    await page.getByLabel('Store name').fill(storeName);
    await page.getByLabel('WooCommerce').check();
    await page.getByRole('button', { name: 'Launch store' }).click();

    await row(storeName).waitFor();
    await screenshot('store-created');
    await row(storeName).locator(`.badge:text-is("${expectedFinalStatus}")`).waitFor({ timeout: STEP_TIMEOUT_MS });
    await screenshot(`store-${expectedFinalStatus.toLowerCase()}`);

    const { seen } = await probe();
    expect(seen[`${storeName}:Queued`]).toBeDefined();
    expect(seen[`${storeName}:${expectedFinalStatus}`]).toBeGreaterThanOrEqual(seen[`${storeName}:Queued`]!);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);

    const store = await page.evaluate(async (name) => {
      const token = sessionStorage.getItem('urumi.token');
      const res = await fetch('/api/v1/stores', { headers: { Authorization: `Bearer ${token}` } });
      const list = (await res.json()) as { items: { name: string; history: { label: string; at: string }[] }[] };
      return list.items.find((s) => s.name === name);
    }, storeName);
    const published = Date.parse(store!.history.find((h) => h.label === expectedFinalStatus)!.at);
    log(
      `status change (${expectedFinalStatus} published) → on screen: ` +
        `${Math.round(seen[`${storeName}:${expectedFinalStatus}`]! - published)} ms`,
    );
  });

  it('shows the store in detail: its timeline, where it is served and how to read its credentials', async () => {
    await openDetail();

    const steps = await page.locator('ol.timeline li .timeline__label').allTextContents();
    expect(steps.slice(0, 2)).toEqual(['Queued', 'Approved']);
    expect(steps).toContain(expectedFinalStatus);
    expect(await page.locator('.facts').textContent()).toContain(`store-${storeName}`);
    expect(await page.locator('pre.command').textContent()).toContain(
      `kubectl get secret store-credentials -n store-${storeName}`,
    );
    await screenshot('store-detail');
  });

  it('is usable at phone width', async () => {
    await page.getByRole('link', { name: 'All stores' }).click();
    await page.setViewportSize({ width: 390, height: 844 });
    await row(storeName).waitFor();

    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot('stores-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('deletes the store after a confirmation that names it; the row shows Deleting', async () => {
    await openDetail();
    await page.getByRole('button', { name: `Delete ${storeName}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${storeName}?` });
    await dialog.waitFor();
    await screenshot('delete-confirmation');
    await dialog.getByRole('button', { name: `Delete ${storeName}` }).click();

    // The probe saw it even if the teardown is quicker than this check.
    await page.waitForFunction(
      (key) => key in (window as unknown as { __urumi: Probe }).__urumi.seen,
      `${storeName}:Deleting`,
      { timeout: STEP_TIMEOUT_MS },
    );
    await screenshot('store-deleting');
    await row(storeName).waitFor({ state: 'detached', timeout: STEP_TIMEOUT_MS });
    await screenshot('store-gone');
  });

  it("does not show alice's store to bob", async () => {
    await signOut();
    await signIn('bob-e2e');

    expect(await row(storeName).count()).toBe(0);
    expect(await page.locator('.who').textContent()).toBe('Tenant');
    await screenshot('bob-stores');
  });

  it('shows an admin the audit trail: who created and deleted the store, when and from where', async () => {
    await signOut();
    await signIn('admin-e2e');

    await page.getByRole('link', { name: 'Audit trail' }).click();
    const entries = page.locator('table.audit tbody tr', { hasText: storeName });
    await entries.first().waitFor();
    const text = (await entries.allTextContents()).join('\n');
    expect(text).toContain('store.create');
    expect(text).toContain('store.delete');
    expect(text).toContain('alice-e2e');
    await screenshot('audit-trail');
  });

  it("shows an admin the platform page: the stores by step, and a failed store's reason", async () => {
    // A namespace the platform did not make: the store that wants it fails, and says why.
    const taken = `${storeName}-taken`;
    const alice = { Authorization: `Bearer ${users.find((u) => u.name === 'alice-e2e')!.token}` };
    await testSandbox().kubectl(['create', 'namespace', `store-${taken}`]);
    let id = '';
    try {
      const created = await fetch(`${gatewayUrl}/api/v1/stores`, {
        method: 'POST',
        headers: { ...alice, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: taken, engine: 'woocommerce' }),
      });
      expect(created.status).toBe(202);
      ({ id } = (await created.json()) as { id: string });

      await page.getByRole('link', { name: 'Platform' }).click();
      await page.getByRole('heading', { name: 'Platform', level: 1 }).waitFor();
      // The page asks again every 10 seconds: the failure shows without a reload.
      const failure = page.locator(`table.failures tr[data-store="${taken}"]`);
      await failure.waitFor({ timeout: STEP_TIMEOUT_MS });
      expect(await failure.textContent()).toContain('NamespaceNotOwned');
      expect(Number(await page.locator('[data-step="failed"] dd').textContent())).toBeGreaterThanOrEqual(1);
      expect(await page.locator('[data-consumer="gateway-store-all"] dd').textContent()).toMatch(/\d+ pending/);
      await screenshot('platform');
    } finally {
      if (id) await fetch(`${gatewayUrl}/api/v1/stores/${id}`, { method: 'DELETE', headers: alice });
      await testSandbox().kubectl(['delete', 'namespace', `store-${taken}`, '--wait=false']);
    }
  });

  it('logged no errors in the browser', () => {
    expect(pageErrors).toEqual([]);
  });
});
