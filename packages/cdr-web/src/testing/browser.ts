import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (the package `chromium`): tests drive it, never a browser build of their own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a root, GPU-less, offline machine: no sandbox (root), and no background
 * connections, which a closed network refuses many at a time and which slow every start.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * Headless Debian Chromium driven by playwright-core, with a new empty profile (playwright
 * makes and removes it). Fails, never skips, when Chromium is missing: a browser test that
 * quietly did not run is a test that passes for nothing.
 */
export async function launchChromium(opts: { executablePath?: string } = {}): Promise<Browser> {
  const executablePath = opts.executablePath ?? CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium is not installed at ${executablePath}: run the README test command (./scripts/test), which installs the Debian package chromium`,
    );
  }
  return chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS] });
}
