/**
 * Real Chromium for page tests (playwright-core, no bundled browser): launch, log in through
 * {hub}login, screenshots into test-artifacts/pages/, and watchers for dialogs, CSP
 * violations and page errors (an XSS attempt that ran would show up in one of them).
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, type RunningHub } from '../helpers/hub.js';

export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'pages');

export async function launch(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface Watched {
  page: Page;
  context: BrowserContext;
  dialogs: string[];
  cspViolations: string[];
  errors: string[];
}

/** A new context + page that records dialogs (and dismisses them), CSP violations and JS errors. */
export async function newPage(browser: Browser, opts: { width?: number; height?: number } = {}): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 } });
  const page = await context.newPage();
  const w: Watched = { page, context, dialogs: [], cspViolations: [], errors: [] };
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy/i.test(t)) w.cspViolations.push(t);
  });
  page.on('pageerror', (e) => w.errors.push(String(e)));
  return w;
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Log in through the hub's login form (dummy authenticator: any password). */
export async function login(page: Page, hub: RunningHub, name: string, next?: string): Promise<void> {
  await page.goto(`${hub.url}/hub/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.getByLabel(/username/i).fill(name);
  const pw = page.locator('input[name=password]');
  if (await pw.count()) await pw.fill('any-password');
  await Promise.all([
    page.waitForURL((u) => !u.pathname.endsWith('/hub/login')),
    page.getByRole('button', { name: /sign in|log ?in/i }).first().click(),
  ]);
}

/** Whether the page scrolls sideways (phone-width check). */
export async function overflowsHorizontally(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

/** The value the page's JS would see in window.__xss (set by an XSS payload that ran). */
export async function xssFired(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss !== undefined);
}

export const XSS_NAME = '<img src=x onerror=window.__xss=1>';
