import { defineConfig } from '@playwright/test';

/**
 * e2e tests drive the built app (vite build + vite preview on 127.0.0.1:4173) in Debian's headless Chromium with
 * WebGPU enabled (SwiftShader's Vulkan: no GPU needed, ~0.3 GFLOP/s). No browser download: executablePath points at
 * /usr/bin/chromium (override with CHROMIUM_PATH).
 */
/** Port of the preview server (E2E_PORT overrides 4173, so two checkouts can run e2e side by side). */
const port = Number(process.env['E2E_PORT'] ?? 4173);

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  timeout: 15 * 60_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    acceptDownloads: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
    command: `npx vite build && npx vite preview --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    // Always build and serve afresh: reusing a server left running would test a stale dist/ (PW_REUSE_SERVER=1 to opt in).
    reuseExistingServer: process.env['PW_REUSE_SERVER'] === '1',
    timeout: 180_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
