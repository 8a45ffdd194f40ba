/**
 * A full-parameter run survives a reload (issue 18): demo pair, Finetuning type Full, 12 steps, a checkpoint every
 * step (each the f32 weights + AdamW m, v: 12 bytes per parameter), training split only. An uninterrupted run gives
 * the reference tuned Base; a second run reloaded mid-way shows Resume, finishes, and its tuned Base is the same
 * bytes (our kernels are deterministic; the data order and schedule are functions of the seed and the step).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { unzipDownload } from './zip';

const STEPS = 12;

async function setUp(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Load demo' }).click();
  await expect(page.getByTestId('model-instruct')).toContainText('stories260K-instruct');
  const heldout = page.getByLabel(/Train on .*heldout/);
  await expect(heldout).toBeChecked();
  await heldout.click();
  await expect(heldout).not.toBeChecked();
  await page.getByLabel('Finetuning type').selectOption('full');
  await page.getByLabel('Max steps').fill(String(STEPS));
  await page.getByLabel('Batch size').fill('2');
  await page.getByLabel('Max length').fill('64');
  await page.getByLabel('Learning rate').fill('0.001');
  await page.getByLabel('Checkpoint every (steps)').fill('1');
}

async function tunedBase(page: Page, dir: string): Promise<Buffer> {
  const pending = page.waitForEvent('download');
  await page.getByTestId('download-tuned-base').click();
  const { files } = await unzipDownload(await pending, dir);
  return Buffer.from(files.get('model.safetensors') as Uint8Array);
}

test('a reloaded full-parameter run resumes and ends with the tuned Base of an uninterrupted run', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-full-resume-'));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await setUp(page);
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('train-status')).toContainText('Training complete', { timeout: 5 * 60_000 });
  await expect(page.locator('pre.run-log')).toContainText('12 bytes per parameter');
  const reference = await tunedBase(page, dir);

  await page.getByRole('button', { name: 'Start training' }).click();
  await expect.poll(() => page.getByTestId('step-log').locator('tbody tr').count(), { timeout: 5 * 60_000 }).toBeGreaterThanOrEqual(2);
  await page.reload();
  const row = page.getByTestId('resumable-run');
  await expect(row).toContainText(new RegExp(`Unfinished run: step ([1-9]|1[01]) of ${STEPS}`));
  await expect(page.getByLabel('Finetuning type')).toHaveValue('full');
  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('train-status')).toContainText('Training complete', { timeout: 5 * 60_000 });
  await expect(page.locator('pre.run-log')).toContainText(new RegExp(`resuming at step ([1-9]|1[01]) of ${STEPS}`));
  const resumed = await tunedBase(page, dir);
  expect(resumed.equals(reference)).toBe(true);
  expect(errors).toEqual([]);
});
