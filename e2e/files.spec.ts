/**
 * Bringing files in without the demo button: the folder picker (<input webkitdirectory>) twice and the files picker
 * accumulate into one session; Swap exchanges the roles; a bad dataset row is skipped and reported by file and row; a started
 * training run can be cancelled.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

const DEMO = fileURLToPath(new URL('../public/demo', import.meta.url));

test('folder picker, files picker, Swap, dataset errors and Cancel', async ({ page }) => {
  test.setTimeout(5 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await page.getByTestId('folder-input').setInputFiles(join(DEMO, 'stories260K-instruct'));
  await expect(page.getByRole('alert').first()).toContainText('Only one model folder found (stories260K-instruct)');
  await page.getByTestId('folder-input').setInputFiles(join(DEMO, 'stories260K-base'));
  await expect(page.getByTestId('model-base')).toContainText('stories260K-base');
  await expect(page.getByTestId('model-instruct')).toContainText('stories260K-instruct');
  await expect(page.getByTestId('sigma-paper')).toHaveAttribute('data-value', /\d/);

  await page.getByRole('button', { name: 'Swap' }).click();
  await expect(page.getByTestId('model-base')).toContainText('stories260K-instruct');
  await page.getByRole('button', { name: 'Swap' }).click();
  await expect(page.getByTestId('model-base')).toContainText('stories260K-base');

  const dir = mkdtempSync(join(tmpdir(), 'shadowft-files-'));
  const bad = join(dir, 'broken-train.json');
  writeFileSync(bad, JSON.stringify([{ instruction: 'Say hi.', output: 'Hi.' }, { instruction: 'No answer here.' }]));
  await page.getByTestId('files-input').setInputFiles([join(DEMO, 'datasets/story-titles.train.csv'), join(DEMO, 'datasets/story-titles.heldout.csv'), bad]);
  const datasets = page.getByTestId('datasets');
  await expect(datasets).toContainText('story-titles.train.csv');
  await expect(datasets).toContainText('story-titles.heldout.csv');
  // A bad row is skipped and reported by file and row; the file's other row trains.
  await expect(page.getByTestId('skipped-rows')).toContainText("broken-train.json row 2: field 'output' is missing");

  await page.getByLabel('Max length').fill('64');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('train-status')).toContainText('held-out loss of Base', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('train-status')).toContainText('Training cancelled', { timeout: 120_000 });
  expect(errors).toEqual([]);
});
