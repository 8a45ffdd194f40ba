/**
 * A full-parameter run in the browser (finetuning_type full, issue 18) on the bundled demo, short (2 steps):
 * 1. Finetuning type Full disables the LoRA fields with the reason and shows the full memory plan;
 * 2. the run completes, the held-out table names the tuned Base and Instruct + graft (full);
 * 3. the merged Instruct and the tuned Base download as zips (the PEFT adapter download is disabled), and — read
 *    here with the test's own safetensors reader (e2e/reference.ts), not the app's graft code — every merged element
 *    is bf16(W_I + (W_B′ − W_B)) within one BF16 rounding, the tuned Base moved, and untouched tensors are W_I;
 * 4. after a reload the run history shows the full run (Settings: finetuning_type full), and its exports are
 *    disabled with the reason (the tuned weights are kept in the tab that trained them only).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { collectErrors, openDemo } from './demoPage';
import { bf16BitsToNumber, f32ToBf16Bits, parseSafetensors, readSafetensorsFile, tensorValues } from './reference';
import { unzipDownload } from './zip';

const M = '../shared/models';

async function download(page: Page, testId: string, dir: string): Promise<Map<string, Uint8Array>> {
  const pending = page.waitForEvent('download');
  await page.getByTestId(testId).click();
  return (await unzipDownload(await pending, dir)).files;
}

test('full-parameter run: settings, train, merged Instruct = W_I + (W_B′ − W_B), tuned Base, history after reload', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-full-'));
  const errors = collectErrors(page);
  await openDemo(page);
  await expect(page.getByTestId('datasets')).toContainText('300');
  await page.getByLabel('Max steps').fill('2');
  await page.getByLabel('Batch size').fill('2');
  await page.getByLabel('Gradient accumulation').fill('1');
  await page.getByLabel('Max length').fill('64');
  await page.getByLabel('Warmup ratio').fill('0');
  await page.getByLabel('Learning rate').fill('0.001');
  await page.getByLabel('Held-out rows').fill('8');
  await page.getByLabel('Finetuning type').selectOption('full');
  await expect(page.getByLabel('Rank')).toBeDisabled();
  await expect(page.getByTestId('lora-fields')).toContainText('Not used by a full-parameter run');
  await expect(page.getByTestId('full-plan')).toContainText('trainable parameters × 16 bytes');
  await expect(page.getByTestId('train-embeddings-saving')).toContainText('off saves');

  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('train-status')).toContainText('Training complete', { timeout: 5 * 60_000 });
  await expect(page.getByTestId('eval-table')).toContainText('tuned Base (full)');
  await expect(page.getByTestId('eval-table')).toContainText('Instruct + graft (full');
  const exports = page.getByTestId('full-exports');
  await expect(exports.getByRole('button', { name: 'Download adapter' })).toBeDisabled();

  const merged = await download(page, 'download-full-merged', dir);
  const tuned = await download(page, 'download-tuned-base', dir);
  expect(merged.has('config.json') && tuned.has('config.json')).toBe(true);
  const base = readSafetensorsFile(`${M}/stories260K-base/model.safetensors`);
  const inst = readSafetensorsFile(`${M}/stories260K-instruct/model.safetensors`);
  const wt = parseSafetensors(tuned.get('model.safetensors')!);
  const wm = parseSafetensors(merged.get('model.safetensors')!);
  expect([...wm.tensors.keys()].sort()).toEqual([...inst.tensors.keys()].sort());
  let changed = 0;
  let off = 0;
  let n = 0;
  for (const [name, ti] of inst.tensors) {
    const m = wm.tensors.get(name)!;
    const t = wt.tensors.get(name)!;
    expect(m.dtype, name).toBe(ti.dtype);
    expect(t.dtype, name).toBe('F32');
    const [a, b, c, d] = [tensorValues(ti), tensorValues(base.tensors.get(name)!), tensorValues(t), tensorValues(m)];
    for (let i = 0; i < a.length; i++) {
      const want = (a[i] as number) + ((c[i] as number) - (b[i] as number));
      if (c[i] !== b[i]) changed++;
      // one BF16 rounding: within one BF16 step of the exact sum
      const lo = bf16BitsToNumber(f32ToBf16Bits(want));
      const ulp = Math.abs(bf16BitsToNumber(f32ToBf16Bits(want) + 1) - lo) || 1e-30;
      if (Math.abs((d[i] as number) - want) > ulp) off++;
      n++;
    }
  }
  expect(changed).toBeGreaterThan(n / 2);
  expect(off).toBe(0);

  await page.reload();
  const row = page.getByTestId('run-history').locator('tbody tr').first();
  await expect(row.getByTestId('run-settings')).toContainText('finetuning_type full');
  await expect(row.getByTestId('run-status')).toHaveText('complete (2/2 steps)');
  await expect(page.getByTestId('full-export-why')).toContainText('kept in the tab that trained it only');
  await expect(page.getByTestId('download-full-merged')).toBeDisabled();
  expect(errors).toEqual([]);
});
