/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the
 * panel's browser tests. Each browser gets a fresh profile in a temporary directory and
 * is closed when the test ends. It records what a careless page would leak: dialogs,
 * uncaught errors and Content-Security-Policy violations. Screenshots go to
 * test-artifacts/screenshots/ and are kept as test artifacts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { createAdmin } from '../../src/auth/admin-accounts.js';
import type { AdminRole } from '../../src/auth/admin-store.js';
import { emulatorFor, eventually, startCompanion, type TestCompanion } from './companion-harness.js';
import type { Emulator } from './ollama-emulator.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Messages of every alert/confirm/prompt any page opened (each is dismissed). */
  dialogs: string[];
  /** Uncaught page errors. */
  errors: string[];
  /** Opens another tab in the same profile, watched like the first. */
  newPage(): Promise<Page>;
  /** CSP violations reported by every page of the session so far. */
  cspViolations(): Promise<string[]>;
  /** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png. */
  screenshot(name: string, page?: Page): Promise<string>;
}

export async function openBrowser(
  t: TestContext,
  options: { viewport?: { width: number; height: number }; baseURL?: string } = {},
): Promise<BrowserSession> {
  // A fresh profile each time, removed only after Chromium has exited.
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: options.viewport ?? DESKTOP,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  t.after(async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });
  context.setDefaultTimeout(10_000);

  // Runs before any page script, outside the page's CSP: collects violations the
  // browser reports, so a blocked inline script or style fails the test.
  await context.addInitScript(() => {
    const w = window as unknown as { __cspViolations?: string[] };
    w.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      w.__cspViolations?.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
    });
  });

  const dialogs: string[] = [];
  const errors: string[] = [];
  const pages: Page[] = [];
  const violations: string[] = [];
  const watch = (page: Page) => {
    pages.push(page);
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    page.on('pageerror', (error) => errors.push(error.message));
    // Chromium also logs each violation, which survives the page navigating away.
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
        violations.push(message.text());
      }
    });
    return page;
  };
  context.on('page', (page) => {
    if (!pages.includes(page)) watch(page);
  });
  const page = watch(context.pages()[0] ?? (await context.newPage()));
  mkdirSync(SCREENSHOTS, { recursive: true });

  return {
    context,
    page,
    dialogs,
    errors,
    newPage: async () => {
      const created = await context.newPage();
      return pages.includes(created) ? created : watch(created);
    },
    async cspViolations() {
      const live: string[] = [];
      for (const p of pages) {
        if (p.isClosed()) continue;
        const found = await p
          .evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])
          .catch(() => [] as string[]);
        live.push(...found);
      }
      return [...violations, ...live];
    },
    async screenshot(name, target = page) {
      const path = join(SCREENSHOTS, `${name}.png`);
      await target.screenshot({ path, fullPage: true, animations: 'disabled' });
      return path;
    },
  };
}

/** Creates an admin account directly in the companion's store, as `admin create` does. */
export async function addAdmin(
  companion: TestCompanion,
  username: string,
  password: string,
  role: AdminRole,
): Promise<void> {
  await createAdmin(companion.companion.admins, username, password, role);
}

/** Opens the panel and signs in through its form; resolves once the dashboard shows. */
export async function signInToPanel(
  page: Page,
  url: string,
  username: string,
  password: string,
): Promise<void> {
  await page.goto(`${url}/admin/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}

/** True when the page is wider than the viewport (content would need sideways scrolling). */
export function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

/** An emulator and a companion with one owner, `olivia` / `owner password`, for panel tests. */
export async function startPanelCompanion(
  t: TestContext,
): Promise<{ emulator: Emulator; companion: TestCompanion }> {
  const emulator = await emulatorFor(t);
  const companion = await startCompanion(t, emulator.url);
  await addAdmin(companion, 'olivia', 'owner password', 'owner');
  return { emulator, companion };
}

/** Resolves once at least `count` requests are recorded, finished, in history. */
export function historySettled(companion: TestCompanion, count: number): Promise<true> {
  return eventually(() => {
    void companion.companion.history.flush();
    const done = [...companion.companion.historyRepo.iterate({})].filter((r) => r.outcome !== 'in_progress');
    return done.length >= count ? true : undefined;
  });
}
