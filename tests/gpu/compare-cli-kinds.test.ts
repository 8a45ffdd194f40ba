/**
 * `shadowft compare --stage dpo` and `--finetuning-type full --write-merged` on the demo pair with CI-sized settings
 * (8 training rows, 4 held-out, 2 steps, Max length 96, 1 eval prompt of 4 tokens): compare.json says the kind and has the per-model preference
 * fields (numbers for DPO, null for full); DPO writes both PEFT adapters, full writes none and, asked, merged/ — the
 * Instruct's tensors in its BF16 layout, read back with e2e/reference.ts's independent reader, changed by the graft —
 * and the table on stdout is labelled per kind. (Refusals before any work: tests/unit/compare-cli-kinds.test.ts.)
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensorsFile } from '../../e2e/reference';
import { compareCommand } from '../../src/cli/compare';
import { captureCli } from '../support/captureCli';

const M = '../shared/models';
const D = '../shared/datasets';
const MODELS = ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'];
const PREF = ['preference_accuracy', 'reward_margin', 'chosen_logps', 'rejected_logps'] as const;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Json = Record<string, unknown> & Record<(typeof PREF)[number] | 'heldout_loss', Record<string, number | null>>;

/** The first `n` lines of a JSON Lines dataset, under its own name in `dir` (CI-sized data). */
async function head(dir: string, file: string, n: number): Promise<string> {
  const lines = (await readFile(`${D}/${file}`, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  await writeFile(join(dir, file), `${lines.slice(0, n).join('\n')}\n`);
  return join(dir, file);
}

async function run(data: string, extra: string[]): Promise<{ out: string; dir: string; j: Json; stdout: string }> {
  const tmp = await mkdtemp(join(tmpdir(), 'shadowft-compare-kinds-'));
  dirs.push(tmp);
  const out = join(tmp, 'cmp');
  const ext = data.includes('pref') ? 'trl.jsonl' : 'messages.jsonl';
  const [train, heldout] = [await head(tmp, `${data}.train.${ext}`, 8), await head(tmp, `${data}.heldout.${ext}`, 4)];
  const r = await captureCli(() => compareCommand.run([
    `${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', train, '--heldout', heldout,
    '--max-steps', '2', '--batch-size', '2', '--max-length', '96', '--eval-prompts', '1', '--max-new-tokens', '4', '--check-regex', '^Title: ', '--out', out, ...extra,
  ]));
  expect(r.code, r.err).toBe(0);
  return { out, dir: tmp, j: JSON.parse(await readFile(join(out, 'compare.json'), 'utf8')) as Json, stdout: r.out };
}

describe('shadowft compare per kind', () => {
  it('--stage dpo: preference measures of the five models and both DPO adapters', async () => {
    const { out, j, stdout } = await run('story-titles-pref', ['--stage', 'dpo', '--pref-beta', '0.2', '--pref-loss', 'sigmoid', '--pref-ftx', '0.1']);
    expect([j['stage'], j['finetuning_type']]).toEqual(['dpo', 'lora']);
    expect(j['settings']).toMatchObject({ stage: 'dpo', prefBeta: 0.2, prefLoss: 'sigmoid', prefFtx: 0.1 });
    for (const k of PREF) {
      expect(Object.keys(j[k]).sort()).toEqual([...MODELS].sort());
      for (const m of MODELS) expect(Number.isFinite(j[k][m]), `${k} ${m}`).toBe(true);
    }
    expect([j.preference_accuracy.instruct, j.reward_margin.base]).toEqual([0, 0]);
    expect((await readdir(out)).sort()).toEqual(['compare.json', 'conventional', 'shadow']);
    expect(JSON.parse(await readFile(join(out, 'shadow', 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA' });
    expect(stdout).toContain('Instruct + Shadow-DPO graft');
    expect(stdout).toContain('pref_acc');
    expect(stdout).toMatch(/^Preference accuracy: /m);
  });

  it('--finetuning-type full --write-merged: no adapters, the grafted Instruct in its layout', async () => {
    const { out, j, stdout } = await run('story-titles', ['--finetuning-type', 'full', '--lr', '1e-4', '--write-merged']);
    expect([j['stage'], j['finetuning_type']]).toEqual(['sft', 'full']);
    for (const k of PREF) for (const m of MODELS) expect(j[k][m]).toBeNull();
    for (const m of MODELS) expect(Number.isFinite(j.heldout_loss[m])).toBe(true);
    expect((await readdir(out)).sort()).toEqual(['compare.json', 'merged']);
    expect((await readdir(join(out, 'merged'))).sort()).toEqual(['LICENSE', 'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    const inst = readSafetensorsFile(`${M}/stories260K-instruct/model.safetensors`);
    const merged = readSafetensorsFile(join(out, 'merged', 'model.safetensors'));
    expect([...merged.tensors.keys()].sort()).toEqual([...inst.tensors.keys()].sort());
    let changed = 0;
    for (const [name, t] of inst.tensors) {
      const m = merged.tensors.get(name)!;
      expect([m.dtype, m.shape], name).toEqual([t.dtype, t.shape]);
      if (Buffer.compare(Buffer.from(m.bytes), Buffer.from(t.bytes)) !== 0) changed++;
    }
    expect(changed).toBeGreaterThan(inst.tensors.size / 2);
    expect(stdout).toContain('Tuned Base');
    expect(stdout).toContain('Instruct + Shadow-FT graft (full)');
  });
});
