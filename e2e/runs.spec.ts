/**
 * Runs that tell the truth, on the bundled demo in headless Chromium (SwiftShader WebGPU):
 * 1. Before Start the exact number of optimizer steps and an estimated time are shown.
 * 2. Run 1 (2 steps) completes; its adapter is downloaded.
 * 3. Run 2 (up to 40 steps) is cancelled mid-way: "Cancelling…" shows within 1 s of the click, the models/data
 *    controls are disabled while it runs, leaving the page asks first (beforeunload), and it stops within one micro-batch (Gradient accumulation 1: one step is
 *    one micro-batch, so at most one more step than the page showed at the click).
 * 4. The run history lists both runs with their status; the cancelled run did not replace run 1 in the export
 *    panel: exporting run 1 gives run 1's adapter bytes, exporting run 2 gives different bytes, and after a reload
 *    run 1 (read back from IndexedDB) again gives exactly run 1's bytes.
 */
import { collectErrors, openDemo } from './demoPage';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { unzipDownload } from './zip';

async function downloadAdapter(page: Page, dir: string): Promise<Buffer> {
  const pending = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download adapter' }).click();
  const { files } = await unzipDownload(await pending, dir);
  const st = files.get('adapter_model.safetensors');
  expect(st, 'adapter_model.safetensors in the zip').toBeDefined();
  return Buffer.from(st as Uint8Array);
}

async function settings(page: Page, maxSteps: number): Promise<void> {
  await page.getByLabel('Max steps').fill(String(maxSteps));
  await page.getByLabel('Batch size').fill('2');
  await page.getByLabel('Gradient accumulation').fill('1');
  await page.getByLabel('Max length').fill('64');
  await page.getByLabel('Warmup ratio').fill('0');
}

test('estimate, cancel within one micro-batch, run history and exporting an earlier run', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-runs-'));
  const errors = collectErrors(page);
  await openDemo(page);
  await expect(page.getByTestId('datasets')).toContainText('300');

  await settings(page, 2);
  await expect(page.getByTestId('run-estimate')).toHaveAttribute('data-steps', '2');
  await expect(page.getByTestId('run-estimate')).toContainText('estimated time');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('train-status')).toContainText('Training complete', { timeout: 5 * 60_000 });
  await expect(page.getByTestId('train-status')).toContainText('(smoothed; last step');
  const first = await downloadAdapter(page, dir);

  await settings(page, 40);
  await expect(page.getByTestId('run-estimate')).toHaveAttribute('data-steps', '40');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('run-progress')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Load demo' })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Clear' })).toBeDisabled();
  await expect(page.getByRole('button', { name: '⇄ Swap' })).toBeDisabled();
  await expect(page.getByTestId('step-count')).toContainText(/^[1-9]\d*\/40 steps/, { timeout: 5 * 60_000 });
  // Leaving the page while the run is active asks first (beforeunload); dismissing keeps the page and the run.
  const dialog = new Promise<string>((resolve) => page.once('dialog', (d) => void d.dismiss().then(() => resolve(d.type()))));
  await page.close({ runBeforeUnload: true });
  expect(await dialog).toBe('beforeunload');
  expect(page.isClosed()).toBe(false);
  // Read the steps shown and click Cancel in the same task of the page, so nothing renders in between.
  const shownAtClick = await page.evaluate(() => {
    const shown = Number.parseInt(document.querySelector('[data-testid="step-count"]')?.textContent ?? '', 10);
    const cancel = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Cancel');
    cancel?.click();
    return shown;
  });
  await expect(page.getByTestId('train-status')).toContainText('Cancelling…', { timeout: 1000 });
  await expect(page.getByTestId('train-status')).toContainText('Training cancelled at', { timeout: 60_000 });
  const stoppedAt = Number.parseInt((await page.getByTestId('step-count').innerText()).trim(), 10);
  expect(stoppedAt, `stopped at step ${stoppedAt}; ${shownAtClick} shown when Cancel was clicked`).toBeLessThanOrEqual(shownAtClick + 1);
  expect(stoppedAt).toBeLessThan(40);

  const rows = page.getByTestId('run-history').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0).getByTestId('run-status')).toHaveText(`cancelled at ${stoppedAt}/40`);
  await expect(rows.nth(1).getByTestId('run-status')).toHaveText('complete (2/2 steps)');
  // The Instruct + graft held-out loss (the last event of a run) is in the saved record, not only on the live table.
  await expect(rows.nth(1).locator('td').nth(3)).toHaveText(/^\d\.\d{4}$/);

  // The cancelled run replaced nothing: the export panel still exports run 1.
  await expect(page.getByTestId('export-run-summary')).toContainText('complete (2/2 steps)');
  expect((await downloadAdapter(page, dir)).equals(first), 'run 1 exported after run 2 was cancelled').toBe(true);
  await rows.nth(0).getByRole('button', { name: /Export run/ }).click();
  await expect(page.getByTestId('export-run-summary')).toContainText(`cancelled at ${stoppedAt}/40`);
  const second = await downloadAdapter(page, dir);
  expect(second.equals(first), 'run 2 has its own adapter').toBe(false);

  await page.reload();
  const after = page.getByTestId('run-history').locator('tbody tr');
  await expect(after).toHaveCount(2);
  await expect(after.nth(1).locator('td').nth(3)).toHaveText(/^\d\.\d{4}$/);
  // After a reload the export panel picks the newest complete run again: run 1, whose adapter comes from IndexedDB.
  await expect(page.getByTestId('export-run-summary')).toContainText('complete (2/2 steps)');
  expect((await downloadAdapter(page, dir)).equals(first), 'run 1 read back from IndexedDB').toBe(true);
  expect(errors).toEqual([]);
});
