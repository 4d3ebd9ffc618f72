// e2e: the dashboard against the real engine. "chromium" drives Debian's chromium against `integrity-studio serve`;
// "electron" drives the packaged app through Playwright's _electron and is skipped (with the reason) where the
// Electron runtime is not installed.
import { defineConfig } from '@playwright/test';

const chromium = { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] };

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  use: { screenshot: 'only-on-failure', trace: 'off' },
  projects: [
    { name: 'chromium', use: { browserName: 'chromium', launchOptions: chromium } },
    // the electron project launches the app through _electron; the browser options only keep Playwright's default
    // page fixture from looking for a downloaded browser before the spec is skipped
    { name: 'electron', use: { browserName: 'chromium', launchOptions: chromium } },
  ],
});
