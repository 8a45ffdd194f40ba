/**
 * "Check this GPU" in the built app: the bundled golden fixtures (public/fixtures: llama-tiny, qwen2-tiny, qwen3-tiny, gemma3-tiny)
 * run through checkFixtureOnGpu on the page's own WebGPU adapter (the worker's device) — the same check code as the
 * Node test tests/gpu/fixtures.test.ts. The verdict must say 0 failed and no model errored, and each model must report
 * logits, loss, the per-step rows, grad/step1, after/stepN and final groups, sigma and merge, all PASS. The number of
 * rows expected per model is counted here, in Node, from the fixture files themselves (lora_step.safetensors keys,
 * lora_step.json steps, bf16/ keys of merge.safetensors; dpo_step.* for case 5 and full_step.json for case 6 where
 * present), independently of the app.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { readSafetensorsFile } from './reference';

const FIXTURES = fileURLToPath(new URL('../public/fixtures', import.meta.url));
const MODELS = ['llama-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gemma3-tiny'];

/** What each model's table must hold, from its fixture files. */
function expected(model: string): { groups: Record<string, number>; steps: number; mergeRows: number; total: number; full: { tensors: number; steps: number } | null } {
  const lora = readSafetensorsFile(join(FIXTURES, model, 'lora_step.safetensors'));
  const steps = (JSON.parse(readFileSync(join(FIXTURES, model, 'lora_step.json'), 'utf8')) as { steps: number }).steps;
  const merge = readSafetensorsFile(join(FIXTURES, model, 'merge.safetensors'));
  const count = (prefix: string): number => [...lora.tensors.keys()].filter((k) => k.startsWith(prefix)).length;
  const groups: Record<string, number> = { 'grad/step1': count('grad/step1/'), final: count('final/') };
  for (let t = 1; t < steps; t++) groups[`after/step${t}`] = count(`after/step${t}/`);
  const mergeRows = 1 + ([...merge.tensors.keys()].some((k) => k.startsWith('bf16/')) ? 1 : 0);
  // logits, loss; loss_before_step/t and grad_norm_before_clip/t per step; the tensors; loss_after_final_step; 2 σ rows.
  let total = 2 + 2 * steps + Object.values(groups).reduce((a, b) => a + b, 0) + 1 + 2 + mergeRows;
  // Case 5 (DPO) where the folder has it: 2 reference rows; loss, 2 log-prob rows and the gradient norm per step;
  // dpo/grad/step1 and dpo/final tensor groups.
  const dpoPath = join(FIXTURES, model, 'dpo_step.safetensors');
  if (existsSync(dpoPath)) {
    const dpo = readSafetensorsFile(dpoPath);
    const dpoSteps = (JSON.parse(readFileSync(join(FIXTURES, model, 'dpo_step.json'), 'utf8')) as { loss_before_step: number[] }).loss_before_step.length;
    const n = (prefix: string): number => [...dpo.tensors.keys()].filter((k) => k.startsWith(prefix)).length;
    groups['dpo/grad/step1'] = n('grad/step1/');
    groups['dpo/final'] = n('final/');
    total += 2 + 4 * dpoSteps + n('grad/step1/') + n('final/');
  }
  // Case 6 (full_step): per step loss and gradient norm; every tensor's step-1 gradient and final value; the final
  // loss; the F32 graft row and the exported graft row.
  const fullPath = join(FIXTURES, model, 'full_step.json');
  let full: { tensors: number; steps: number } | null = null;
  try {
    const j = JSON.parse(readFileSync(fullPath, 'utf8')) as { steps: number; tensors: string[] };
    full = { tensors: j.tensors.length, steps: j.steps };
    total += 2 * j.steps + 2 * j.tensors.length + 1 + 2;
  } catch {
    full = null;
  }
  return { groups, steps, mergeRows, total, full };
}

test('Check this GPU: the bundled PyTorch goldens pass on the page’s WebGPU adapter', async ({ page }) => {
  test.setTimeout(12 * 60_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const want = new Map(MODELS.map((m) => [m, expected(m)]));
  for (const [m, w] of want) expect(w.groups['grad/step1'], `${m}: step-1 gradient tensors in the fixture`).toBeGreaterThan(0);

  await page.goto('/');
  await expect(page.getByTestId('gpu-info')).toContainText('GPU:');
  const button = page.getByRole('button', { name: 'Check this GPU' });
  await expect(button).toBeEnabled();
  const t0 = Date.now();
  await button.click();
  await expect(button).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Start training' })).toBeDisabled();
  await expect(page.getByTestId('gpu-check-adapter')).toContainText('Adapter:');

  const verdict = page.getByTestId('gpu-check-verdict');
  await expect(verdict).toBeVisible({ timeout: 10 * 60_000 });
  const seconds = (Date.now() - t0) / 1000;
  console.log(`GPU check in the page: ${seconds.toFixed(1)} s — ${await verdict.innerText()}`);
  const total = [...want.values()].reduce((a, w) => a + w.total, 0);
  await expect(verdict).toHaveAttribute('data-outcome', 'done');
  await expect(verdict).toHaveAttribute('data-errors', '0');
  await expect(verdict).toHaveAttribute('data-failed', '0');
  await expect(verdict).toHaveAttribute('data-passed', String(total));
  await expect(verdict).toContainText(`${total} passed, 0 failed`);
  await expect(button).toBeEnabled();

  for (const [model, w] of want) {
    await test.step(`${model}: logits, loss, grad, after/final, sigma and merge`, async () => {
      const box = page.getByTestId(`gpu-check-model-${model}`);
      await expect(box).toHaveAttribute('data-status', 'done');
      for (const q of ['logits', 'loss', 'loss_after_final_step']) await expect(box.locator(`tr[data-quantity="${q}"]`)).toHaveAttribute('data-pass', 'true');
      for (let t = 1; t <= w.steps; t++) {
        for (const q of [`loss_before_step/${t}`, `grad_norm_before_clip/${t}`]) await expect(box.locator(`tr[data-quantity="${q}"]`)).toHaveAttribute('data-pass', 'true');
      }
      for (const [key, n] of Object.entries(w.groups)) {
        const g = box.locator(`tr[data-group="${key}"]`);
        await expect(g, `${model} ${key}`).toHaveAttribute('data-count', String(n));
        await expect(g).toHaveAttribute('data-failed', '0');
        await expect(g).toContainText(`${key}: ${n} tensors, max rel err`);
        await expect(g).toContainText('all pass');
      }
      await expect(box.locator('tr[data-quantity^="sigma/"][data-pass="true"]')).toHaveCount(2);
      await expect(box.locator('tr[data-quantity^="merge/"][data-pass="true"]')).toHaveCount(w.mergeRows);
      if (w.full) {
        for (const key of ['full_step/grad/step1', 'full_step/final']) {
          const g = box.locator(`tr[data-group="${key}"]`);
          await expect(g, `${model} ${key}`).toHaveAttribute('data-count', String(w.full.tensors));
          await expect(g).toHaveAttribute('data-failed', '0');
        }
        await expect(box.locator('tr[data-quantity^="full_step/graft"][data-pass="true"]')).toHaveCount(2);
      }
      await expect(box.locator('tr[data-pass="false"]')).toHaveCount(0);
    });
  }

  await test.step('the grad/step1 summary expands into one PASS row per tensor', async () => {
    const box = page.getByTestId('gpu-check-model-llama-tiny');
    const n = want.get('llama-tiny')?.groups['grad/step1'] ?? 0;
    await box.locator('tr[data-group="grad/step1"] button').click();
    const detail = box.locator('tr.check-detail[data-quantity^="grad/step1/"]');
    await expect(detail).toHaveCount(n);
    await expect(box.locator('tr.check-detail[data-quantity^="grad/step1/"][data-pass="true"]')).toHaveCount(n);
    await expect(detail.first()).toContainText('base_model.model.model.layers.0.');
  });
  expect(errors).toEqual([]);
});
