/**
 * `shadowft compare` on the real stories260K pair with tiny training settings (2 steps each), checked against the
 * PyTorch reference (shared/models/REFERENCE_RESULTS.md) where it applies without training: the untrained Base and
 * Instruct held-out losses on story-titles (1.4753 / 1.3668 nats, full-length rows) and the first greedy answers to
 * held-out prompt 1 (48 new tokens). The rates are recomputed here from the written answers, the adapters are read
 * back as PEFT files. (The refusal of bad flags before any work: tests/unit/compare-cli.test.ts.)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareCommand } from '../../../src/cli/compare';
import { captureCli } from '../../support/captureCli';

const M = '../shared/models';
const D = '../shared/datasets';
const MODELS = ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'];
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Answer { index: number; text: string; tokens: number; exact: boolean; check: boolean | null; prompt: string }
interface CompareJson {
  settings: { maxSteps: number; batchSize: number; warmupRatio: number; lora: { r: number; alpha: number } };
  heldout_loss: Record<string, number>;
  exact_match: Record<string, number>;
  check_rate: Record<string, number>;
  mean_answer_tokens: Record<string, number>;
  eval_prompts: number;
  steps: { shadow: number; conventional: number };
  answers: Record<string, Answer[]>;
  wording: { verdicts: { text: string }[] };
}

const args = (out: string, extra: string[] = []): string[] => [
  `${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', `${D}/story-titles.train.alpaca.json`, '--heldout', `${D}/story-titles.heldout.alpaca.json`,
  '--max-steps', '2', '--batch-size', '4', '--warmup-steps', '1', '--eval-prompts', '2', '--max-new-tokens', '48', '--check-regex', '^Title: ', '--out', out, ...extra,
];

describe('shadowft compare', () => {
  it('writes compare.json (five models, reference losses and answers of the untrained models) and both PEFT adapters', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-compare-'));
    dirs.push(tmp);
    const out = join(tmp, 'cmp');
    const r = await captureCli(() => compareCommand.run(args(out)));
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(await readFile(join(out, 'compare.json'), 'utf8')) as CompareJson;
    expect(j.settings.maxSteps).toBe(2);
    expect(j.settings.batchSize).toBe(4);
    expect(Math.ceil(2 * j.settings.warmupRatio)).toBe(1); // --warmup-steps 1 of 2 steps
    expect(j.steps).toEqual({ shadow: 2, conventional: 2 });
    for (const key of ['heldout_loss', 'exact_match', 'check_rate', 'mean_answer_tokens'] as const) expect(Object.keys(j[key]).sort()).toEqual([...MODELS].sort());
    // Untrained models: the PyTorch reference's held-out losses (fp32 math on the BF16 files; default Max length 512 keeps every row whole).
    expect(Math.abs(j.heldout_loss.base! - 1.4753)).toBeLessThan(2e-3);
    expect(Math.abs(j.heldout_loss.instruct! - 1.3668)).toBeLessThan(2e-3);
    for (const m of MODELS) expect(Number.isFinite(j.heldout_loss[m])).toBe(true);
    // The reference's greedy answers to held-out prompt 1 (48 new tokens; the reference prints them decoded).
    expect(j.eval_prompts).toBe(2);
    expect(j.answers.instruct![0]!.prompt).toBe('Write a short story with a title about a boat called Fluffy.');
    expect(j.answers.instruct![0]!.text.startsWith('Once upon a time, there was a little boat named Fluffy. Fluffy loved to play with his friends. One day, Fluffy saw')).toBe(true);
    expect(j.answers.base![0]!.text.startsWith('Whiskers is a shiny boat. What is that?')).toBe(true);
    // Rates recomputed from the answers: trimmed answer against /^Title: /, mean of the token counts.
    for (const m of MODELS) {
      const a = j.answers[m]!;
      expect(a.length).toBe(2);
      expect(j.check_rate[m]).toBe(a.filter((x) => /^Title: /.test(x.text.trim())).length / 2);
      expect(j.mean_answer_tokens[m]).toBe((a[0]!.tokens + a[1]!.tokens) / 2);
      expect(j.exact_match[m]).toBe(a.filter((x) => x.exact).length / 2);
    }
    expect(j.wording.verdicts.length).toBe(3);
    expect(r.out).toContain('Instruct + Shadow-FT graft');
    for (const run of ['shadow', 'conventional']) {
      const cfg = JSON.parse(await readFile(join(out, run, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      // The Instruct has no Hub id in its config.json, so the CLI names its absolute path (loadable from any folder).
      expect(cfg).toMatchObject({ peft_type: 'LORA', r: 8, lora_alpha: 16, base_model_name_or_path: expect.stringMatching(/^\/.*\/stories260K-instruct$/) as unknown as string });
      const st = await readFile(join(out, run, 'adapter_model.safetensors'));
      const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape: number[] }>;
      const keys = Object.keys(header).filter((k) => k !== '__metadata__');
      expect(keys.length).toBe(5 * 7 * 2);
      expect(header['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight']?.shape).toEqual([8, 64]);
    }
    // The two adapters differ (trained on different models) but share their initialisation: after 2 small steps their
    // lora_A stay close to the same seeded init, while lora_B (init 0) moved.
    const a = await readFile(join(out, 'shadow', 'adapter_model.safetensors'));
    const b = await readFile(join(out, 'conventional', 'adapter_model.safetensors'));
    expect(a.equals(b)).toBe(false);
  }, 600_000);

});
