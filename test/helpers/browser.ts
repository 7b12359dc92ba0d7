// Debian's Chromium, headless, driven over the DevTools protocol by puppeteer-core (which downloads
// nothing: it runs the system browser). Screenshots go under test-output/ (POLYMUR_TEST_OUTPUT).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI has no user namespace for Chromium's sandbox; the pages are our own, on loopback.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
    timeout: 30_000,
  });
}

/** Where a test keeps what a person would look at afterwards (screenshots). */
export function testOutputDir(...parts: string[]): string {
  const dir = join(process.env.POLYMUR_TEST_OUTPUT ?? 'test-output', ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}
