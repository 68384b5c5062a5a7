/**
 * Headless Chromium for end-to-end tests of the dashboard, driven by puppeteer-core (which brings no
 * browser of its own): Debian's `chromium` package, or the binary CHROMIUM_PATH names.
 */
import { access, constants } from 'node:fs/promises';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts Chromium; a machine without it fails the test saying how to install it, never skips it. */
export async function launchChromium(): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: the dashboard test drives a headless Chromium. Install it with \`apt-get install chromium\` ` +
        '(Debian; scripts/test.sh does it when run as root), or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    );
  }
  // No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
  return puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--headless=new'] });
}

/** Everything the page reported as wrong: script errors, console errors (CSP violations among them). */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error instanceof Error ? error.message : String(error)}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  return problems;
}
