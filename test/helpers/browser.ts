import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/*
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests and the screenshot
 * script. Never downloads a browser: CHROMIUM (or /usr/bin/chromium) must be installed (.ci/run installs
 * the `chromium` package when it is missing). Each launch gets a fresh profile directory.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A generous bound for one browser step on a loaded 2-vCPU machine: tests wait on selectors, not sleeps. */
export const STEP_TIMEOUT_MS = 30_000;

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged as errors, and CSP violations: a test can assert there were none. */
  consoleErrors: string[];
  close(): Promise<void>;
}

/** launchBrowser starts Chromium with a fresh profile and opens one page. */
export async function launchBrowser(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'hookrelay-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1360, height: 900 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  return {
    context,
    page,
    consoleErrors,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
