import { defineConfig } from '@playwright/test';
import base from '../../playwright.config';

/**
 * Browser benchmarks (npm run bench:browser): the same built app, server and Chromium flags as the e2e tests, but
 * long runs that measure rather than check. Never part of npm test.
 */
export default defineConfig({ ...base, testDir: '.', testMatch: '**/*.bench.spec.ts', timeout: 90 * 60_000, outputDir: '../../test-results/bench' });
