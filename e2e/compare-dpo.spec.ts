/**
 * Compare with Stage DPO in the browser on the demo (issue 17): Load demo, drop small preference files (16 training
 * pairs, 6 held-out, cut from shared/datasets/story-titles-pref), untick the demo's SFT files, choose Stage DPO in the
 * training settings, Compare with CI-sized settings (2 steps, Max length 64, 1 eval prompt of 4 tokens) → the table
 * shows the five models under their DPO names with a preference accuracy each (0 for the untuned Instruct and Base,
 * against themselves), the wording starts with the preference-accuracy verdict, and the CSV has the preference columns.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { expect, test } from '@playwright/test';
import { collectErrors, openDemo } from './demoPage';

const SHARED = '/work/shared/datasets';
const MODELS = ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'];

/** The first `n` lines of a shared preference file, under its own name in `dir`. */
function head(dir: string, file: string, n: number): string {
  const lines = readFileSync(join(SHARED, file), 'utf8').split('\n').filter((l) => l.trim() !== '');
  writeFileSync(join(dir, file), `${lines.slice(0, n).join('\n')}\n`);
  return join(dir, file);
}

test('Compare with Stage DPO: five models with their preference accuracy and a verdict', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-e2e-compare-dpo-'));
  const errors = collectErrors(page);
  await openDemo(page);
  await expect(page.getByTestId('datasets')).toContainText('300');
  await page.getByTestId('files-input').setInputFiles([head(dir, 'story-titles-pref.train.trl.jsonl', 16), head(dir, 'story-titles-pref.heldout.trl.jsonl', 6)]);
  await expect(page.locator('tr[data-path="story-titles-pref.heldout.trl.jsonl"]').getByTestId('dataset-kind')).toHaveText('preference');
  for (const name of ['story-titles.train.alpaca.json', 'story-titles.heldout.alpaca.json']) {
    const box = page.locator(`tr[data-path$="${name}"] input[type="checkbox"]`);
    await box.click();
    await expect(box).not.toBeChecked();
  }
  await page.getByLabel('Stage').selectOption('dpo');
  await page.getByLabel('Max steps').fill('2');
  await page.getByLabel('Batch size').fill('2');
  await page.getByLabel('Max length').fill('64');
  await page.getByLabel('Eval prompts').fill('1');
  await page.getByLabel('Answer tokens').fill('4');
  await page.getByRole('button', { name: 'Compare', exact: true }).click();

  const table = page.getByTestId('compare-table');
  await expect(table).toBeVisible({ timeout: 8 * 60_000 });
  await expect(table.locator('tbody tr')).toHaveCount(5);
  await expect(table.locator('tr[data-model="instruct_shadow"] td').first()).toHaveText('Instruct + Shadow-DPO graft');
  await expect(table.locator('tr[data-model="base_lora"] td').first()).toHaveText('Base + DPO');
  for (const m of MODELS) await expect(page.getByTestId(`compare-pref-accuracy-${m}`)).toHaveText(/^\d+% \(\d\/6\)$/);
  for (const m of ['instruct', 'base']) await expect(page.getByTestId(`compare-pref-accuracy-${m}`)).toHaveText('0% (0/6)');
  await expect(page.getByTestId('compare-wording').locator('li').first()).toContainText(/^Preference accuracy: /);

  const pending = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download results CSV' }).click();
  const csvPath = join(dir, 'compare.csv');
  await (await pending).saveAs(csvPath);
  const csv = Papa.parse<string[]>(readFileSync(csvPath, 'utf8').trim(), { skipEmptyLines: true }).data;
  expect(csv[0]?.slice(0, 6)).toEqual(['model', 'label', 'preference_accuracy', 'reward_margin', 'chosen_logps', 'rejected_logps']);
  expect(csv.slice(1).map((r) => r[0])).toEqual(MODELS);
  for (const row of csv.slice(1)) for (const i of [2, 3, 4, 5, 6]) expect(Number.isFinite(Number(row[i])) && row[i] !== '', `${row[0]} column ${csv[0]?.[i]}`).toBe(true);
  expect(errors).toEqual([]);
});
