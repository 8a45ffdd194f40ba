/**
 * Datasets as users have them: after Load demo, drop a JSON Lines file with a bad row and a Parquet file (built here
 * with tests/support/parquetWriter, uncompressed PLAIN pages per the Parquet spec); the table shows the detected
 * schema, kept/skipped counts and the skipped row's reason; the preview renders the first rows with the Instruct
 * template with the labelled spans highlighted; unticking and removing a file change what is trained on.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { writeStringParquet } from '../tests/support/parquetWriter';

test('a dataset with a bad row and a Parquet file: kept/skipped, schema, preview, tick and remove', async ({ page }) => {
  test.setTimeout(4 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-datasets-'));
  const chat = join(dir, 'chat-train.jsonl');
  writeFileSync(chat, [
    JSON.stringify({ conversations: [{ from: 'human', value: 'Tell me a story.' }, { from: 'gpt', value: 'Once upon a time.' }] }),
    JSON.stringify({ conversations: [{ from: 'gpt', value: 'out of turn' }, { from: 'human', value: 'x' }] }),
    JSON.stringify({ conversations: [{ from: 'user', value: 'More.' }, { from: 'assistant', value: 'The end.' }] }),
  ].join('\n'));
  const parquet = join(dir, 'titles-train.parquet');
  writeFileSync(parquet, writeStringParquet([
    { name: 'instruction', optional: false, values: ['Give me a title.', 'Another title.'] },
    { name: 'input', optional: true, values: [null, 'about a duck'] },
    { name: 'output', optional: false, values: ['Title: The Sun', 'Title: Joe the Duck'] },
  ]));

  await page.goto('/');
  await page.getByRole('button', { name: 'Load demo' }).click();
  await expect(page.getByTestId('datasets')).toContainText('300');
  await page.getByTestId('files-input').setInputFiles([chat, parquet]);
  const chatRow = page.locator('tr[data-path="chat-train.jsonl"]');
  const pqRow = page.locator('tr[data-path="titles-train.parquet"]');
  await expect(chatRow.getByTestId('dataset-format')).toHaveText('sharegpt');
  await expect(chatRow.getByTestId('dataset-kept')).toHaveText('2');
  await expect(chatRow.getByTestId('dataset-skipped')).toHaveText('1');
  await expect(pqRow.getByTestId('dataset-format')).toHaveText('parquet (alpaca)');
  await expect(pqRow.getByTestId('dataset-kept')).toHaveText('2');
  await expect(page.getByTestId('skipped-rows')).toContainText('chat-train.jsonl row 2: conversations[0]: "from" is "gpt"; expected human or observation or user');

  const preview = page.getByTestId('dataset-preview');
  await expect(preview.getByTestId('preview-counts')).toContainText('364 rows kept, 1 skipped');
  const first = preview.getByTestId('preview-row').first();
  await expect(first).toContainText('tokens');
  await expect(first.locator('pre')).toContainText('User: ');
  expect(await first.locator('mark').count()).toBeGreaterThan(0);
  await expect(first.locator('mark').first()).toContainText('</s>');

  // A controlled checkbox: its state comes back from the worker, so click and wait for it.
  await page.getByLabel('Train on titles-train.parquet').click();
  await expect(page.getByLabel('Train on titles-train.parquet')).not.toBeChecked();
  await expect(preview.getByTestId('preview-counts')).toContainText('362 rows kept, 1 skipped');
  await page.getByRole('button', { name: 'Remove chat-train.jsonl' }).click();
  await expect(page.locator('tr[data-path="chat-train.jsonl"]')).toHaveCount(0);
  await expect(preview.getByTestId('preview-counts')).toContainText('360 rows kept, 0 skipped');
  expect(errors).toEqual([]);
});
