// e2e: the dashboard against the real engine. "chromium" drives Debian's chromium against `integrity-studio serve`;
// "electron" drives the packaged app through Playwright's _electron and is skipped (with the reason) where the
// Electron runtime is not installed.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  use: { screenshot: 'only-on-failure', trace: 'off' },
  projects: [
    { name: 'chromium', use: { browserName: 'chromium', launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] } } },
    { name: 'electron' },
  ],
});
