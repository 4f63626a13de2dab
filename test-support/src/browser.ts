/**
 * Headless Chromium for the page's browser tests: Debian's own package, driven by playwright-core
 * (which downloads no browser). `make chromium` installs it; PHR_CHROMIUM points elsewhere.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.PHR_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: run "make chromium" (installs Debian's chromium with apt-get) or set PHR_CHROMIUM`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}
