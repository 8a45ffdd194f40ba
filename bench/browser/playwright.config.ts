import { defineConfig } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import base from '../../playwright.config';

/**
 * Browser benchmarks (npm run bench:browser): the same built app, server and Chromium flags as the e2e tests, but
 * long runs that measure rather than check. Never part of npm test.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  ...base,
  testDir: '.',
  testMatch: '**/*.bench.spec.ts',
  timeout: 90 * 60_000,
  outputDir: '../../test-results/bench',
  // Build and serve the app from the repository root, as the e2e config does.
  webServer: { ...(base.webServer as object), cwd: root } as typeof base.webServer,
});
