/**
 * Compare and Try it on the bundled demo (issue 9 acceptance): Load demo → Compare with CI-sized settings (3 steps per
 * run, Max length 64, 2 eval prompts of 8 tokens) → both loss curves and the five-model table appear, with the demo's
 * check pre-filled → the CSV and JSON downloads are re-read and agree with the table → Try it answers a held-out
 * prompt in three columns, and its greedy Instruct answer equals the comparison's greedy Instruct answer to the same
 * prompt (same model, prompt and token budget).
 */
import { collectErrors, openDemo } from './demoPage';
import { unzipDownload } from './zip';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { expect, test } from '@playwright/test';

const MODELS = ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'];
const STEPS = 3;

test('load demo, compare Shadow-FT with conventional LoRA, download the results, try three models', async ({ page }) => {
  test.setTimeout(15 * 60_000);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-e2e-compare-'));
  const errors = collectErrors(page);
  await openDemo(page);
  await expect(page.getByTestId('model-instruct')).toContainText('stories260K-instruct');
  await expect(page.getByLabel('Check regex')).toHaveValue('^Title: ');

  await test.step(`compare with ${STEPS} steps per run: two curves and the table`, async () => {
    await page.getByLabel('Max steps').fill(String(STEPS));
    await page.getByLabel('Batch size').fill('4');
    await page.getByLabel('Max length').fill('64');
    await page.getByLabel('Eval prompts').fill('2');
    await page.getByLabel('Answer tokens').fill('8');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    const table = page.getByTestId('compare-table');
    await expect(table).toBeVisible({ timeout: 12 * 60_000 });
    const chart = page.getByTestId('compare-chart');
    await expect(chart).toHaveAttribute('data-shadow-steps', String(STEPS));
    await expect(chart).toHaveAttribute('data-conventional-steps', String(STEPS));
    await expect(chart.locator('canvas')).toHaveCount(1);
    await expect(table.locator('tbody tr')).toHaveCount(5);
    await expect(page.getByTestId('compare-wording')).toContainText('Held-out loss:');
  });

  let instructAnswer = '';
  let firstPrompt = '';
  await test.step('CSV and JSON downloads agree with the table', async () => {
    const cells = async (model: string): Promise<string[]> => page.locator(`[data-testid="compare-table"] tr[data-model="${model}"] td[data-value]`).evaluateAll((tds) => tds.map((td) => td.getAttribute('data-value') ?? ''));
    const pending = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download results CSV' }).click();
    const csvPath = join(dir, 'compare.csv');
    await (await pending).saveAs(csvPath);
    const csv = Papa.parse<string[]>(readFileSync(csvPath, 'utf8').trim(), { skipEmptyLines: true }).data;
    expect(csv[0]).toEqual(['model', 'label', 'heldout_loss', 'exact_match', 'check_rate', 'mean_answer_tokens']);
    expect(csv.slice(1).map((r) => r[0])).toEqual(MODELS);
    for (const row of csv.slice(1)) {
      const loss = Number(row[2]);
      expect(Number.isFinite(loss) && loss > 0, `${row[0]} held-out loss ${row[2]}`).toBe(true);
      for (const i of [3, 4]) expect(Number(row[i]) >= 0 && Number(row[i]) <= 1).toBe(true);
      expect(Number(row[5])).toBeGreaterThan(0);
      expect(row.slice(2)).toEqual(await cells(row[0] as string));
    }
    const pendingJson = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download results JSON' }).click();
    const jsonPath = join(dir, 'compare.json');
    await (await pendingJson).saveAs(jsonPath);
    const j = JSON.parse(readFileSync(jsonPath, 'utf8')) as { heldout_loss: Record<string, number>; eval_prompts: number; steps: { shadow: number; conventional: number }; samples: { prompt: string; answers: Record<string, { text: string }> }[] };
    expect(j.steps).toEqual({ shadow: STEPS, conventional: STEPS });
    expect(j.eval_prompts).toBe(2);
    for (const row of csv.slice(1)) expect(String(j.heldout_loss[row[0] as string])).toBe(row[2]);
    firstPrompt = j.samples[0]?.prompt ?? '';
    instructAnswer = j.samples[0]?.answers['instruct']?.text ?? '';
    expect(firstPrompt).toBe('Write a short story with a title about a boat called Fluffy.');
    expect(instructAnswer.length).toBeGreaterThan(0);
  });

  await test.step('Try it: three columns of generated text', async () => {
    await page.getByRole('button', { name: 'Use a held-out prompt' }).click();
    await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue(firstPrompt);
    await page.getByLabel('Max new tokens').fill('8');
    for (const name of ['Instruct + conventional LoRA', 'Base + LoRA']) await page.getByLabel(name, { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Generate' }).click();
    const columns = page.getByTestId('try-columns').locator('.try-column');
    await expect(columns).toHaveCount(3);
    for (const m of ['base', 'instruct', 'instruct_shadow']) {
      await expect(page.getByTestId(`try-${m}`)).toHaveAttribute('data-done', 'true', { timeout: 120_000 });
      expect((await page.getByTestId(`try-text-${m}`).innerText()).trim().length, `${m} answer`).toBeGreaterThan(0);
    }
    // Greedy, same prompt and budget: Try it's Instruct answer is the comparison's.
    expect((await page.getByTestId('try-text-instruct').innerText()).trim()).toBe(instructAnswer.trim());
    await expect(page.getByTestId('try-instruct')).toContainText('tokens/s');
  });

  await test.step('Try it: a second turn after the first, with the chat so far (issue 20 (g))', async () => {
    await page.getByLabel('Prompt', { exact: true }).fill('Now one about a cat.');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect(page.getByTestId('try-instruct')).toHaveAttribute('data-done', 'true', { timeout: 120_000 });
    await expect(page.getByTestId('try-instruct')).toHaveAttribute('data-turns', '1');
    await expect(page.getByTestId('try-instruct')).toContainText('You: Now one about a cat.');
    await expect(page.getByTestId('try-turns')).toContainText('2 turns so far');
  });

  await test.step('after a reload the comparison\'s results, answers and adapters are still there (issue 20, fault 1)', async () => {
    const before = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download Shadow-FT adapter' }).click();
    const shadowBefore = (await unzipDownload(await before, dir)).files.get('adapter_model.safetensors') as Uint8Array;
    await page.reload();
    await expect(page.getByTestId('compare-restored')).toContainText('stories260K-base / stories260K-instruct');
    await expect(page.getByText(firstPrompt).first()).toBeAttached();
    // Its adapters are kept too: after Load demo the download gives the same adapter as before the reload.
    await page.getByRole('button', { name: 'Load demo' }).click();
    await expect(page.getByTestId('model-instruct')).toContainText('stories260K-instruct');
    const pending = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download Shadow-FT adapter' }).click();
    const { files } = await unzipDownload(await pending, dir);
    expect(Buffer.from(files.get('adapter_model.safetensors') as Uint8Array).equals(Buffer.from(shadowBefore))).toBe(true);
  });

  expect(errors).toEqual([]);
  console.log(`compare e2e wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
});
