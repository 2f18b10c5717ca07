import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';

export const repoRoot = resolve(__dirname, '../..');
export const consoleDir = join(repoRoot, 'dist/frontend/browser');
export const screenshotsDir = join(repoRoot, '.sandbox/e2e-screenshots');

/** Builds the console unless Nx's cache says the build output is current (then it only restores it). */
export function buildConsole(): void {
  const env: NodeJS.ProcessEnv = { ...process.env, NX_TUI: 'false' };
  delete env['NODE_ENV'];
  const result = spawnSync('npx', ['nx', 'run', 'console:build', '--output-style=static'], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0) {
    throw new Error(`the console did not build:\n${result.stdout}\n${result.stderr}`);
  }
}

/**
 * Debian's Chromium, headless, without the background services that phone home. `extraArgs` e.g. map store host
 * names to the sandbox's ingress controller, as nip.io would answer them (this machine has no outside DNS).
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

/** Signs in to the console the gateway at `gatewayUrl` serves, and waits for the store list's heading. */
export async function signIn(page: Page, gatewayUrl: string, token: string): Promise<void> {
  await page.goto(`${gatewayUrl}/`);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Stores', level: 1 }).waitFor();
}

export function freshScreenshotsDir(): string {
  rmSync(screenshotsDir, { recursive: true, force: true });
  mkdirSync(screenshotsDir, { recursive: true });
  return screenshotsDir;
}

/**
 * Runs in the page before the console: records (epoch ms) when the store list is first shown and when
 * each store's status first appears on screen, so the test can time what a person would see.
 */
export const screenProbe = `
  window.__urumi = { listShownAt: undefined, seen: {} };
  new MutationObserver(() => {
    const probe = window.__urumi;
    const now = performance.timeOrigin + performance.now();
    if (probe.listShownAt === undefined && document.querySelector('table.stores, urumi-stores .state[role="status"]:not([aria-busy])')) {
      probe.listShownAt = now;
    }
    for (const badge of document.querySelectorAll('tr[data-store] .badge')) {
      const key = badge.closest('tr').dataset.store + ':' + badge.textContent.trim();
      if (!(key in probe.seen)) probe.seen[key] = now;
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
`;
