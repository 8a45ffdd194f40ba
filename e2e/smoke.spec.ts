/**
 * Smoke test: the built app loads in headless Chromium without console errors, and WebGPU works there
 * (navigator.gpu.requestAdapter() returns an adapter, and the app's worker reports it).
 */
import { expect, test } from '@playwright/test';

test('page loads without console errors and WebGPU has an adapter', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Shadow-FT Studio' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Load demo' })).toBeEnabled();

  const adapter = await page.evaluate(async () => {
    if (!('gpu' in navigator)) return null;
    const a = await navigator.gpu.requestAdapter();
    return a ? { architecture: a.info.architecture, vendor: a.info.vendor, maxBufferSize: a.limits.maxBufferSize } : null;
  });
  expect(adapter, 'navigator.gpu.requestAdapter() in this Chromium').not.toBeNull();
  expect(adapter?.maxBufferSize).toBeGreaterThan(0);

  // The worker's own device (src/engine/gpu/context.ts) is described in the GPU panel.
  const gpu = page.getByTestId('gpu-info');
  await expect(gpu).toContainText('GPU:');
  await expect(gpu).toContainText(adapter?.architecture ?? '');
  await page.waitForTimeout(500);
  expect(errors).toEqual([]);
});
