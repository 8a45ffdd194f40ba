/** Steps the e2e specs share: collecting the page's errors, and opening the studio with the bundled demo loaded. */
import type { Page } from '@playwright/test';

/** Starts collecting console errors and uncaught page errors; the returned array fills as they happen. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Opens the studio and clicks "Load demo" (the caller waits for what it needs to see loaded). */
export async function openDemo(page: Page): Promise<void> {
  await page.goto('/');
  await page.getByRole('button', { name: 'Load demo' }).click();
}
