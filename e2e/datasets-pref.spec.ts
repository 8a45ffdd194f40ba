/**
 * Preference data in the studio: after Load demo, drop the shared story-titles-pref TRL file; the table shows its kind
 * (preference), layout and 300 pairs; with the demo's SFT files still ticked the preview refuses the mix; once they are
 * unticked it shows a pair: the chosen render (answer with its "Title:" line) and the rejected one, each answer labelled.
 */
import { expect, test } from '@playwright/test';

const PREF = '/work/shared/datasets/story-titles-pref.train.trl.jsonl';

test('a preference file: kind in the table, mixed kinds refused, a pair previewed with both labelled answers', async ({ page }) => {
  test.setTimeout(4 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await page.getByRole('button', { name: 'Load demo' }).click();
  await expect(page.getByTestId('datasets')).toContainText('300');
  await page.getByTestId('files-input').setInputFiles([PREF]);
  const row = page.locator('tr[data-path="story-titles-pref.train.trl.jsonl"]');
  await expect(row.getByTestId('dataset-kind')).toHaveText('preference');
  await expect(row.getByTestId('dataset-format')).toHaveText('trl-conversational');
  await expect(row.getByTestId('dataset-kept')).toHaveText('300');
  await expect(page.locator('tr[data-path$="story-titles.train.alpaca.json"]').getByTestId('dataset-kind')).toHaveText('SFT');

  const preview = page.getByTestId('dataset-preview');
  await expect(preview.getByRole('alert')).toContainText('Both SFT and preference (chosen/rejected) files are ticked');
  for (const name of ['story-titles.train.alpaca.json', 'story-titles.heldout.alpaca.json']) {
    const box = page.locator(`tr[data-path$="${name}"] input[type="checkbox"]`);
    await box.click();
    await expect(box).not.toBeChecked();
  }
  await expect(preview.getByTestId('preview-counts')).toContainText('300 pairs kept, 0 skipped');
  await expect(preview.getByRole('alert')).toHaveCount(0);
  const pair = preview.getByTestId('preview-pair').first();
  await expect(pair).toContainText('preference pair');
  const marks = pair.locator('mark');
  await expect(marks).toHaveCount(2);
  await expect(marks.nth(0)).toContainText(/^ Title: .*<\/s>$/s);
  await expect(marks.nth(1)).not.toContainText('Title:');
  await expect(marks.nth(1)).toContainText('</s>');
  expect(errors).toEqual([]);
});
