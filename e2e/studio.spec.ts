/**
 * The user's path through the studio on the bundled demo (stories260K Base/Instruct + story-titles), checked against
 * values this test computes itself in Node from public/demo:
 * 1. Load demo → the σ summary equals our f64 σ (paper mean over model.layers.N. tensors, weighted mean, min, max);
 *    the heatmap and the CSV hold every tensor.
 * 2. Train ≥ 20 steps on WebGPU (SwiftShader) → the loss goes down; "Training complete"; held-out losses shown.
 * 3. Download adapter → PEFT keys/shapes ([r, in], [out, r]) and adapter_config.json fields.
 * 4. Download merged model → targeted weights == bf16(W_I + (α/r)·B·A) from the downloaded adapter; others identical.
 * 5. Reload → the σ summary and the last training result reappear (IndexedDB).
 */
import { collectErrors, openDemo } from './demoPage';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { bf16BitsToNumber, mergeToBf16, paperSummary, parseSafetensors, readSafetensorsFile, sigmaPerTensor, tensorValues, decodeF32 } from './reference';
import { unzipDownload } from './zip';

const DEMO = fileURLToPath(new URL('../public/demo', import.meta.url));
const base = readSafetensorsFile(join(DEMO, 'stories260K-base/model.safetensors'));
const instruct = readSafetensorsFile(join(DEMO, 'stories260K-instruct/model.safetensors'));
const sigma = sigmaPerTensor(base, instruct);
const ref = paperSummary(sigma);
const MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const STEPS = 20;

const relClose = (a: number, b: number, rel: number): boolean => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

async function statValue(page: Page, id: string): Promise<{ value: number; text: string }> {
  const el = page.getByTestId(id);
  await expect(el).toHaveAttribute('data-value', /\d/);
  return { value: Number(await el.getAttribute('data-value')), text: (await el.innerText()).trim() };
}

async function expectSigmaSummary(page: Page): Promise<void> {
  const paper = await statValue(page, 'sigma-paper');
  expect(relClose(paper.value, ref.mean, 1e-9), `paper figure ${paper.value} vs reference ${ref.mean}`).toBe(true);
  expect(Math.abs(Number.parseFloat(paper.text) - ref.mean)).toBeLessThanOrEqual(5e-4 * ref.mean);
  const min = await statValue(page, 'sigma-min');
  const max = await statValue(page, 'sigma-max');
  expect(relClose(min.value, ref.min, 1e-9)).toBe(true);
  expect(relClose(max.value, ref.max, 1e-9)).toBe(true);
  let w = 0;
  let n = 0;
  for (const [k, s] of sigma) {
    if (!/^model\.layers\.\d+\./.test(k)) continue;
    const numel = (base.tensors.get(k)?.shape ?? []).reduce((a, b) => a * b, 1);
    w += s * numel;
    n += numel;
  }
  const weighted = await statValue(page, 'sigma-weighted');
  expect(relClose(weighted.value, w / n, 1e-9)).toBe(true);
}

test('load demo, similarity, train, export adapter and merged model, reload', async ({ page }) => {
  test.setTimeout(15 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-e2e-'));
  const errors = collectErrors(page);
  await openDemo(page);
  await expect(page.getByTestId('model-base')).toContainText('stories260K-base');
  await expect(page.getByTestId('model-instruct')).toContainText('stories260K-instruct');
  await expect(page.getByTestId('datasets')).toContainText('300');

  await test.step('similarity summary, heatmap and CSV match our own σ', async () => {
    expect(ref.n).toBe(45);
    await expectSigmaSummary(page);
    const cells = page.getByTestId('heatmap').locator('rect[data-tensor]');
    await expect(cells).toHaveCount(sigma.size);
    const cell = page.locator('rect[data-tensor="model.layers.1.self_attn.o_proj.weight"]');
    await cell.hover();
    await expect(page.getByTestId('heatmap-hover')).toContainText('model.layers.1.self_attn.o_proj.weight');
    await expect(page.getByTestId('heatmap-hover')).toContainText('[64, 64]');
    const pending = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download similarity CSV' }).click();
    const csvPath = join(dir, 'sigma.csv');
    await (await pending).saveAs(csvPath);
    const lines = (await import('node:fs')).readFileSync(csvPath, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('tensor,layer,module,shape,numel,sigma');
    expect(lines.length - 1).toBe(sigma.size);
    for (const line of lines.slice(1)) {
      const cols = line.split(',');
      const s = sigma.get(cols[0] as string);
      expect(s, `CSV tensor ${cols[0]}`).toBeDefined();
      expect(relClose(Number(cols[5]), s as number, 1e-9), `σ of ${cols[0]}`).toBe(true);
    }
  });

  await test.step(`train ${STEPS} steps: the loss goes down`, async () => {
    await page.getByLabel('Max steps').fill(String(STEPS));
    await page.getByLabel('Batch size').fill('4');
    await page.getByLabel('Max length').fill('64');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect(page.getByTestId('train-status')).toContainText('Training complete', { timeout: 12 * 60_000 });
    const losses = (await page.getByTestId('step-log').locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-loss')))));
    expect(losses.length).toBe(STEPS);
    expect(losses.every(Number.isFinite)).toBe(true);
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    expect(last, `mean loss of the last 5 steps (${last}) below the first 5 (${first})`).toBeLessThan(first);
    // The final loss is the bias-corrected EMA (w = 0.9, TensorBoard smoothing) with the last raw loss beside it.
    let m = 0;
    losses.forEach((x) => (m = 0.9 * m + 0.1 * x));
    const smoothed = m / (1 - 0.9 ** losses.length);
    await expect(page.getByTestId('train-status')).toContainText(`final loss ${smoothed.toFixed(4)} (smoothed; last step ${(losses[STEPS - 1] as number).toFixed(4)})`);
    const evals = await page.getByTestId('eval-table').locator('tbody td').allInnerTexts();
    const [, baseBefore, baseAfter, , instBefore, instAfter] = evals.map(Number);
    for (const v of [baseBefore, baseAfter, instBefore, instAfter]) expect(Number.isFinite(v)).toBe(true);
    expect(baseAfter as number).toBeLessThan(baseBefore as number);
  });

  const lora = new Map<string, { a: Float32Array; b: Float32Array; r: number; inF: number; out: number }>();
  let scaling = 0;
  await test.step('adapter zip: PEFT keys, shapes and adapter_config.json', async () => {
    const pending = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download adapter' }).click();
    const { files } = await unzipDownload(await pending, dir);
    const cfg = JSON.parse(new TextDecoder().decode(files.get('adapter_config.json'))) as Record<string, unknown>;
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, lora_dropout: 0, bias: 'none', fan_in_fan_out: false, use_rslora: false, base_model_name_or_path: 'stories260K-instruct' });
    expect([...(cfg['target_modules'] as string[])].sort()).toEqual([...MODULES].sort());
    const st = parseSafetensors(files.get('adapter_model.safetensors') as Uint8Array);
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.size).toBe(5 * MODULES.length * 2);
    const r = cfg['r'] as number;
    scaling = (cfg['lora_alpha'] as number) / r;
    for (let l = 0; l < 5; l++) {
      for (const m of MODULES) {
        const path = `model.layers.${l}.${['gate_proj', 'up_proj', 'down_proj'].includes(m) ? 'mlp' : 'self_attn'}.${m}`;
        const [out, inF] = base.tensors.get(`${path}.weight`)?.shape as [number, number];
        const A = st.tensors.get(`base_model.model.${path}.lora_A.weight`);
        const B = st.tensors.get(`base_model.model.${path}.lora_B.weight`);
        expect(A?.shape, `${path} lora_A`).toEqual([r, inF]);
        expect(B?.shape, `${path} lora_B`).toEqual([out, r]);
        expect(A?.dtype).toBe('F32');
        lora.set(path, { a: decodeF32((A as { bytes: Uint8Array }).bytes), b: decodeF32((B as { bytes: Uint8Array }).bytes), r, inF, out });
      }
    }
    // Training moved B away from its zero init.
    expect([...lora.values()].some((w) => w.b.some((x) => x !== 0))).toBe(true);
  });

  await test.step('merged model zip: W_I + (α/r)·B·A rounded to BF16; other tensors byte-identical', async () => {
    const pending = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download merged model' }).click();
    const { files } = await unzipDownload(await pending, dir);
    expect(files.has('config.json')).toBe(true);
    expect(files.has('tokenizer.json')).toBe(true);
    const merged = parseSafetensors(files.get('model.safetensors') as Uint8Array);
    let exact = 0;
    let total = 0;
    let changed = 0;
    for (const [name, t] of instruct.tensors) {
      const m = merged.tensors.get(name);
      expect(m, name).toBeDefined();
      expect(m?.dtype).toBe(t.dtype);
      expect(m?.shape).toEqual(t.shape);
      const w = lora.get(name.replace(/\.weight$/, ''));
      if (!w) {
        expect(Buffer.compare(Buffer.from(m?.bytes ?? []), Buffer.from(t.bytes)), `${name} copied byte for byte`).toBe(0);
        continue;
      }
      const want = mergeToBf16(tensorValues(t), w.a, w.b, w.out, w.inF, w.r, scaling);
      const got = new Uint16Array((m as { bytes: Uint8Array }).bytes.slice().buffer);
      const orig = new Uint16Array(t.bytes.slice().buffer);
      for (let i = 0; i < want.length; i++) {
        total++;
        if (got[i] === want[i]) exact++;
        else expect(Math.abs(bf16BitsToNumber(got[i] as number) - bf16BitsToNumber(want[i] as number)), `${name}[${i}]`).toBeLessThanOrEqual(Math.abs(bf16BitsToNumber(want[i] as number)) * 2 ** -7 + 1e-30);
        if (got[i] !== orig[i]) changed++;
      }
    }
    expect(exact / total, `${exact}/${total} merged values equal our bf16(W + s·B·A)`).toBeGreaterThan(0.999);
    expect(changed, 'the merge changed the Instruct weights').toBeGreaterThan(0);
  });

  await test.step('reload: similarity and the last training result reappear', async () => {
    await page.reload();
    await expectSigmaSummary(page);
    await expect(page.getByTestId('train-status')).toContainText('Training complete');
    const pending = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download adapter' }).click();
    const { files } = await unzipDownload(await pending, dir);
    expect(files.has('adapter_model.safetensors')).toBe(true);
  });

  expect(errors).toEqual([]);
});
