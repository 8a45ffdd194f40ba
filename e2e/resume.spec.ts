/**
 * Durable runs in headless Chromium (WebGPU on SwiftShader) on the bundled demo, with small settings (40 steps,
 * batch 2, Max length 64, a checkpoint every step, training split only):
 * 1. an uninterrupted run gives the reference adapter;
 * 2. a run reloaded mid-way shows Resume with its step; Resume (nothing dropped: it loads the demo and ticks the
 *    run's datasets itself) finishes it; its adapter equals the reference
 *    (max abs difference ≤ 1e-6; our kernels are deterministic, so it is 0 in practice);
 * 3. a run whose GPU device is destroyed mid-way (test hook, `?testHooks=1`) recovers by itself from the last
 *    checkpoint; its adapter equals the reference too.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { decodeF32, parseSafetensors } from './reference';
import { unzipDownload } from './zip';

/** Enough steps that a reload or device loss after step 2 lands mid-run (a step takes ~0.1 s here now). */
const STEPS = 40;
/** A step strictly inside the run: 1..39. */
const MID = '([1-9]|[1-3][0-9])';

/** Loads the demo, unticks the held-out split and sets the small settings. */
async function setUp(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Load demo' }).click();
  await expect(page.getByTestId('model-instruct')).toContainText('stories260K-instruct');
  // The checkbox follows the worker's session (a round trip), so click and wait instead of uncheck().
  const heldout = page.getByLabel(/Train on .*heldout/);
  await expect(heldout).toBeChecked();
  await heldout.click();
  await expect(heldout).not.toBeChecked();
  await page.getByLabel('Max steps').fill(String(STEPS));
  await page.getByLabel('Batch size').fill('2');
  await page.getByLabel('Max length').fill('64');
  await page.getByLabel('Checkpoint every (steps)').fill('1');
}

/** Waits until `n` steps are in the step log. */
async function stepsDone(page: Page, n: number): Promise<void> {
  await expect.poll(() => page.getByTestId('step-log').locator('tbody tr').count(), { timeout: 10 * 60_000 }).toBeGreaterThanOrEqual(n);
}

/** Downloads the adapter and returns its tensors (name → f32 values). */
async function adapter(page: Page, dir: string): Promise<Map<string, Float32Array>> {
  const pending = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download adapter' }).click();
  const { files } = await unzipDownload(await pending, dir);
  const st = parseSafetensors(files.get('adapter_model.safetensors') as Uint8Array);
  return new Map([...st.tensors].map(([k, t]) => [k, decodeF32(t.bytes)]));
}

function maxAbsDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let d = 0;
  for (const [k, x] of a) {
    const y = b.get(k) as Float32Array;
    expect(y.length, k).toBe(x.length);
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs((x[i] as number) - (y[i] as number)));
  }
  return d;
}

test('a reloaded run resumes and a lost device recovers: both adapters equal an uninterrupted run', async ({ page }) => {
  test.setTimeout(20 * 60_000);
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-resume-'));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/?testHooks=1');
  await setUp(page);

  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('train-status')).toContainText('Training complete', { timeout: 10 * 60_000 });
  const reference = await adapter(page, dir);
  // Training moved lora_B away from zero: the comparisons below can fail.
  expect([...reference].some(([k, v]) => k.includes('lora_B') && v.some((x) => x !== 0))).toBe(true);
  // A completed run leaves nothing to resume.
  await expect(page.getByTestId('resumable-run')).toHaveCount(0);

  await test.step('reload mid-run, Resume, finish', async () => {
    await page.getByRole('button', { name: 'Start training' }).click();
    await stepsDone(page, 2);
    await page.reload();
    const row = page.getByTestId('resumable-run');
    await expect(row).toContainText(new RegExp(`Unfinished run: step ${MID} of ${STEPS}`));
    await expect(row).toContainText('stories260K-base');
    // Every setting of the run survives the reload, "Checkpoint every" included (issue 20, fault 2).
    await expect(page.getByLabel('Checkpoint every (steps)')).toHaveValue('1');
    // Nothing dropped, nothing set: Resume loads the demo itself and ticks the datasets the run used.
    await row.getByRole('button', { name: 'Resume' }).click();
    // The resumed run has its whole-run bar and ETA (from its own settings' estimate), starting past 0%.
    await expect(page.getByTestId('run-eta')).toContainText(/ETA/, { timeout: 60_000 });
    await expect(page.getByTestId('train-status')).toContainText(`Training complete: final loss`, { timeout: 10 * 60_000 });
    await expect(page.getByTestId('train-status')).toContainText(`after ${STEPS} steps`);
    await expect(page.locator('pre.run-log')).toContainText(new RegExp(`resuming at step ${MID} of ${STEPS}`));
    const resumed = await adapter(page, dir);
    expect(maxAbsDiff(resumed, reference)).toBeLessThanOrEqual(1e-6);
    await expect(page.getByTestId('resumable-run')).toHaveCount(0);
    await expect(page.getByLabel(/Train on .*heldout/)).not.toBeChecked();
  });

  await test.step('lose the GPU device mid-run: it recovers from the last checkpoint', async () => {
    await page.getByLabel('Checkpoint every (steps)').fill('1');
    await page.getByRole('button', { name: 'Start training' }).click();
    await stepsDone(page, 2);
    await page.evaluate(() => (globalThis as unknown as { __shadowftTest: { loseDevice(): Promise<void> } }).__shadowftTest.loseDevice());
    await expect(page.getByTestId('train-status')).toContainText(`Training complete: final loss`, { timeout: 10 * 60_000 });
    // The loss really happened mid-run and the run continued from a checkpoint on a new device.
    await expect(page.locator('pre.run-log')).toContainText(new RegExp(`WebGPU device lost .*recovering once on a new GPU device from the checkpoint after step ${MID}\\b`));
    await expect(page.locator('pre.run-log')).toContainText(new RegExp(`resuming at step ${MID} of ${STEPS}`));
    const recovered = await adapter(page, dir);
    expect(maxAbsDiff(recovered, reference)).toBeLessThanOrEqual(1e-6);
  });

  console.log(`resume.spec wall time: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  expect(errors).toEqual([]);
});
