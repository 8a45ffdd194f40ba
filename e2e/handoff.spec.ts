/**
 * Handing a run to a cluster and bringing it back, on the bundled demo:
 * 1. "Export for a cluster" downloads a zip; the test unzips it (fflate), parses the YAMLs (yaml), checks every key
 *    against src/app/handoff/llamafactoryKeys.json (read as data), the values against the settings form, and the
 *    ShareGPT data against the demo's alpaca files (instruction [+ "\n" + input] → human, output → gpt).
 * 2. "Graft a tuned Base": a tuned Base generated here (tests/support/tunedBase.ts: three tensors perturbed) is
 *    picked with the folder input; the tuning heatmap marks exactly the perturbed tensors; the downloaded grafted
 *    model equals RNE_bf16(W_I + W_B′ − W_B) computed here (boundary ties excepted), other tensors byte for byte.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { parse } from 'yaml';
import { bf16Bits, bf16ToNumber, f64ToBf16, parseSt, PERTURBED, writeTunedBase, type RawTensor } from '../tests/support/tunedBase';
import { unzipDownload } from './zip';

const DEMO = fileURLToPath(new URL('../public/demo', import.meta.url));
const KEYS = JSON.parse(readFileSync(fileURLToPath(new URL('../src/app/handoff/llamafactoryKeys.json', import.meta.url)), 'utf8')) as Record<string, unknown>;
const ALLOWED = new Set(['model_args', 'data_args', 'finetuning_args', 'training_args', 'transformers_training_args'].flatMap((k) => KEYS[k] as string[]));

type Alpaca = { instruction: string; input?: string; output: string };
const alpacaTurns = (file: string): string[][] =>
  (JSON.parse(readFileSync(join(DEMO, 'datasets', file), 'utf8')) as Alpaca[]).map((r) => [[r.instruction, r.input ?? ''].filter((s) => s !== '').join('\n'), r.output]);
const shareGptTurns = (bytes: Uint8Array): string[][] =>
  (JSON.parse(new TextDecoder().decode(bytes)) as { conversations: { from: string; value: string }[] }[]).map((r) => {
    expect(r.conversations.map((m) => m.from)).toEqual(['human', 'gpt']);
    return r.conversations.map((m) => m.value);
  });

test('Export for a cluster zip, and Graft a tuned Base on the demo', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'shadowft-handoff-e2e-'));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await page.getByRole('button', { name: 'Load demo' }).click();
  await expect(page.getByTestId('sigma-paper')).toHaveAttribute('data-value', /\d/, { timeout: 120_000 });

  // 1. Export for a cluster, with two settings changed in the form.
  await page.getByLabel('Rank').fill('4');
  await page.getByLabel('Learning rate').fill('0.0005');
  await page.getByText('Export for a cluster (LLaMA-Factory + mergekit)').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export for a cluster' }).click()]);
  const { files } = await unzipDownload(download, dir);
  const shadow = parse(new TextDecoder().decode(files.get('train_shadow_base.yaml')), { version: '1.1' }) as Record<string, unknown>;
  const conv = parse(new TextDecoder().decode(files.get('train_conventional_instruct.yaml')), { version: '1.1' }) as Record<string, unknown>;
  for (const y of [shadow, conv]) for (const k of Object.keys(y)) expect(ALLOWED.has(k), `${k} is a LLaMA-Factory argument`).toBe(true);
  const num = async (label: string): Promise<number> => Number(await page.getByLabel(label, { exact: true }).inputValue());
  expect(shadow).toMatchObject({
    model_name_or_path: 'stories260K-base', stage: 'sft', finetuning_type: 'lora', lora_rank: 4, lora_alpha: await num('Alpha'), learning_rate: 0.0005,
    num_train_epochs: await num('Epochs'), per_device_train_batch_size: await num('Batch size'), gradient_accumulation_steps: await num('Gradient accumulation'),
    cutoff_len: await num('Max length'), seed: await num('Seed'), max_grad_norm: await num('Max grad norm'), dataset: 'shadowft_train', eval_dataset: 'shadowft_heldout', bf16: true,
  });
  expect(conv.model_name_or_path).toBe('stories260K-instruct');
  const info = JSON.parse(new TextDecoder().decode(files.get('dataset_info.json'))) as Record<string, { file_name: string }>;
  expect(info.shadowft_train?.file_name).toBe('train.json');
  expect(shareGptTurns(files.get('train.json') as Uint8Array)).toEqual(alpacaTurns('story-titles.train.alpaca.json'));
  expect(shareGptTurns(files.get('heldout.json') as Uint8Array)).toEqual(alpacaTurns('story-titles.heldout.alpaca.json'));
  const mk = parse(new TextDecoder().decode(files.get('graft_mergekit.yaml'))) as Record<string, unknown>;
  // mergekit copies config, tokenizer and template from base_model: the Instruct, with tuned Base +1 and Base −1.
  expect(mk).toMatchObject({ merge_method: 'task_arithmetic', base_model: 'stories260K-instruct', parameters: { normalize: false }, dtype: 'float32', out_dtype: 'bfloat16' });
  expect(mk['models']).toEqual([
    { model: expect.stringMatching(/^stories260K-base\+\.\/saves\//) as unknown as string, parameters: { weight: 1.0 } },
    { model: 'stories260K-base', parameters: { weight: -1.0 } },
  ]);
  expect(new TextDecoder().decode(files.get('README.md'))).toContain('llamafactory-cli train train_shadow_base.yaml');

  // 2. Graft a tuned Base generated here.
  const tunedDir = join(dir, 'stories260K-base-tuned');
  const tuned = writeTunedBase(join(DEMO, 'stories260K-base'), tunedDir);
  await page.getByTestId('tuned-input').setInputFiles(tunedDir);
  const heat = page.getByTestId('tuning-heatmap');
  await expect(heat).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('pair-heatmap')).toBeVisible();
  const changed = await heat.locator('rect.cell').evaluateAll((els) => els.filter((e) => Number(e.getAttribute('data-sigma')) > 0).map((e) => e.getAttribute('data-tensor')));
  expect(changed.sort()).toEqual([...PERTURBED].sort());
  const [gz] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download grafted model' }).click()]);
  const grafted = await unzipDownload(gz, dir);
  expect(grafted.names.every((n) => n.startsWith('stories260K-instruct-shadowft-grafted/'))).toBe(true);
  const got = parseSt(grafted.files.get('model.safetensors') as Uint8Array);
  const inst = parseSt(new Uint8Array(readFileSync(join(DEMO, 'stories260K-instruct/model.safetensors'))));
  const base = parseSt(new Uint8Array(readFileSync(join(DEMO, 'stories260K-base/model.safetensors'))));
  expect([...got.keys()]).toEqual([...inst.keys()]);
  let ties = 0;
  for (const [name, t] of got) {
    const i = inst.get(name) as RawTensor;
    if (!(PERTURBED as readonly string[]).includes(name)) {
      expect(Buffer.from(t.bytes).equals(Buffer.from(i.bytes)), name).toBe(true);
      continue;
    }
    const g = bf16Bits(t.bytes);
    const wi = bf16Bits(i.bytes);
    const wb = bf16Bits((base.get(name) as RawTensor).bytes);
    const wt = bf16Bits((tuned.get(name) as RawTensor).bytes);
    for (let k = 0; k < g.length; k++) {
      const exact = bf16ToNumber(wi[k] as number) + (bf16ToNumber(wt[k] as number) - bf16ToNumber(wb[k] as number));
      const want = wt[k] === wb[k] ? (wi[k] as number) : f64ToBf16(exact);
      if (g[k] === want) continue;
      const bits = new Uint32Array(new Float32Array([exact]).buffer)[0] as number;
      expect(bits & 0xffff, `${name}[${k}] off a rounding boundary`).toBe(0x8000);
      ties++;
    }
  }
  expect(ties).toBeLessThan(5);
  expect(new TextDecoder().decode(grafted.files.get('config.json'))).toBe(readFileSync(join(DEMO, 'stories260K-instruct/config.json'), 'utf8'));
  expect(errors).toEqual([]);
});
