/**
 * Nothing leaves the machine: every request the page (and its worker) makes during Load demo → train (2 steps) →
 * download adapter and merged model is recorded, and none may go outside the app's own origin (blob:/data: are
 * local). The built app carries a Content-Security-Policy (connect-src 'self', no remote scripts) and nothing in
 * this run violates it.
 */
import { expect, test } from '@playwright/test';

test('Load demo → train → export makes no request outside the origin, under the CSP', async ({ page, context, baseURL }) => {
  test.setTimeout(10 * 60_000);
  const origin = new URL(baseURL as string).origin;
  const requests: string[] = [];
  const record = (url: string): void => {
    requests.push(url);
  };
  context.on('request', (r) => record(r.url()));
  page.on('websocket', (ws) => record(ws.url()));
  page.on('worker', (w) => record(w.url()));
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy|Refused to/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });

  await page.goto('/');
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("script-src 'self'");
  await page.getByRole('button', { name: 'Load demo' }).click();
  await expect(page.getByTestId('model-instruct')).toContainText('stories260K-instruct');
  await page.getByLabel('Max steps').fill('2');
  await page.getByLabel('Batch size').fill('2');
  await page.getByLabel('Max length').fill('64');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByTestId('train-status')).toContainText(/Training (complete|failed)/, { timeout: 8 * 60_000 });
  await expect(page.getByTestId('train-status')).toContainText('Training complete', { timeout: 1000 });
  for (const name of ['Download adapter', 'Download merged model']) {
    const pending = page.waitForEvent('download');
    await page.getByRole('button', { name }).click();
    const d = await pending;
    expect(d.suggestedFilename()).toMatch(/^stories260K-instruct-shadowft-(lora|merged)\.zip$/);
  }

  expect(requests.length).toBeGreaterThan(0);
  const outside = requests.filter((u) => !(u.startsWith('blob:') || u.startsWith('data:') || new URL(u).origin === origin));
  expect(outside, `requests outside ${origin}`).toEqual([]);
  expect(problems).toEqual([]);
});
