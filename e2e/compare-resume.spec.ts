/**
 * Compare as a durable run (issue 20 acceptance) in headless Chromium on the bundled demo, CI-sized (30 steps per
 * run, batch 4, Max length 64, a checkpoint every step, 2 eval prompts of 8 tokens): the page is reloaded while the
 * second training (LoRA on Instruct) runs; the Compare panel offers Resume with what was finished; Resume (nothing
 * dropped: it loads the demo itself) finishes the comparison with the whole-job bar and its ETA shown at every check
 * until the table appears; after another reload the comparison is in the run history, complete, with its download.
 * (That a resumed comparison's numbers equal an uninterrupted one's is checked in Node: tests/gpu/compare-resume.test.ts.)
 */
import { expect, test } from '@playwright/test';
import { collectErrors, openDemo } from './demoPage';

const STEPS = 30;

test('reload during Compare, Resume: it finishes with an ETA throughout and is kept in the run history', async ({ page }) => {
  test.setTimeout(12 * 60_000);
  const errors = collectErrors(page);
  await openDemo(page);
  await expect(page.getByTestId('model-instruct')).toContainText('stories260K-instruct');
  await page.getByLabel('Max steps').fill(String(STEPS));
  await page.getByLabel('Batch size').fill('4');
  await page.getByLabel('Max length').fill('64');
  await page.getByLabel('Checkpoint every (steps)').fill('1');
  await page.getByLabel('Eval prompts').fill('2');
  await page.getByLabel('Answer tokens').fill('8');
  await expect(page.getByTestId('compare-estimate')).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  await expect(page.getByTestId('compare-eta')).toBeVisible();

  await test.step('reload while LoRA on Instruct trains', async () => {
    await page.waitForFunction(() => /conventional run \(on Instruct\): step ([2-9]|[12][0-9])\//.test(document.querySelector('[data-testid="compare-status"]')?.textContent ?? ''), null, { timeout: 8 * 60_000, polling: 50 });
    await page.reload();
  });

  await test.step('Resume finishes with an ETA at every check', async () => {
    const box = page.getByTestId('resumable-compare');
    await expect(box).toContainText('LoRA on Base (Shadow-FT) trained (30 steps)');
    // Interrupted in the second training (usually), or just after it: either way something after Shadow-FT was kept.
    await expect(box).toContainText(/LoRA on Instruct \(conventional\) (at step \d+ of 30|trained)/);
    await expect(page.getByRole('button', { name: 'Resume comparison' })).toBeEnabled({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Resume comparison' }).click();
    const table = page.getByTestId('compare-table');
    const eta = page.getByTestId('compare-eta');
    let checks = 0;
    while (!(await table.isVisible())) {
      const running = await page.getByRole('button', { name: 'Cancel', exact: true }).isVisible();
      if (running) {
        await expect(eta).toContainText(/ETA \d/);
        checks++;
      }
      await page.waitForTimeout(250);
    }
    expect(checks).toBeGreaterThan(2);
    await expect(table.locator('tbody tr')).toHaveCount(5);
    await expect(page.getByTestId('compare-chart')).toHaveAttribute('data-conventional-steps', String(STEPS));
    await expect(box).toHaveCount(0);
  });

  await test.step('after another reload: in the run history, complete, downloadable', async () => {
    await page.reload();
    const row = page.locator('[data-testid="run-history"] tr[data-kind="compare"]');
    await expect(row).toHaveCount(1);
    await expect(row).toHaveAttribute('data-status', 'complete');
    await expect(row.getByTestId('run-settings')).toContainText('Compare (2 prompts × 8 tokens');
    await expect(row.getByRole('button', { name: 'Download comparison' })).toBeEnabled();
    await expect(page.getByTestId('resumable-compare')).toHaveCount(0);
  });
  expect(errors).toEqual([]);
});
