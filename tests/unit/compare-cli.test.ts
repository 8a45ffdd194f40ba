/**
 * `shadowft compare` flags: refused before anything is loaded, trained or written (bad check regex, bad numbers,
 * unknown target module, both warmup flags), and --warmup-steps N turned into the ratio that gives exactly N warmup
 * steps under schedule.ts's rounding (HF get_warmup_steps = ceil(total · ratio)).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareCommand, settingsFromFlags } from '../../src/cli/compare';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { warmupSteps } from '../../src/engine/train/schedule';
import type { ModelConfig } from '../../src/io/config/types';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const M = '../shared/models';
const D = '../shared/datasets';
const base = (out: string, extra: string[]): string[] => [`${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', `${D}/story-titles.train.alpaca.json`, '--heldout', `${D}/story-titles.heldout.alpaca.json`, '--out', out, ...extra];

describe('shadowft compare flags', () => {
  it('refuses an invalid check regex and bad counts before any work, writing nothing', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-compare-'));
    dirs.push(tmp);
    const out = join(tmp, 'cmp');
    await expect(compareCommand.run(base(out, ['--check-regex', '^Title: (']))).rejects.toThrow(/^Check regex: "\^Title: \(" is not a valid regular expression/);
    await expect(compareCommand.run(base(out, ['--eval-prompts', '2.5']))).rejects.toThrow('--eval-prompts must be a whole number, got "2.5"');
    await expect(compareCommand.run(base(out, ['--max-new-tokens', '0']))).rejects.toThrow(/^Max new tokens: must be a whole number ≥ 1/);
    await expect(compareCommand.run([`${M}/stories260K-base`, '--out', out])).rejects.toThrow(/^expected BASE_DIR INSTRUCT_DIR, got 1 positional argument\(s\); usage: npx shadowft compare/);
    await expect(compareCommand.run([`${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', 'x.json', '--out', out])).rejects.toThrow('--heldout FILE is required');
    await expect(stat(out)).rejects.toThrow();
  });

  it('applies the flags to the studio defaults; --warmup-steps gives exactly that many warmup steps', () => {
    const cfg = { hiddenSize: 64, maxPositionEmbeddings: 512 } as ModelConfig;
    const d = defaultTrainSettings(cfg, 300);
    const s = settingsFromFlags(d, { rank: '4', lr: '0.002', 'batch-size': '8', targets: 'q_proj,v_proj', 'warmup-steps': '10' }, () => 114);
    expect(s.lora).toMatchObject({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] });
    expect(s.learningRate).toBe(0.002);
    expect(warmupSteps(114, s.warmupRatio)).toBe(10);
    for (const [total, n] of [[114, 10], [7, 3], [1000, 1], [49, 49], [10, 0]] as const) expect(warmupSteps(total, settingsFromFlags(d, { 'warmup-steps': String(n) }, () => total).warmupRatio)).toBe(n);
    expect(settingsFromFlags(d, { rank: '16', alpha: '8' }, () => 1).lora.alpha).toBe(8);
    expect(() => settingsFromFlags(d, { targets: 'q_proj,lm_head' }, () => 1)).toThrow('--targets: lm_head is not one of');
    expect(() => settingsFromFlags(d, { 'warmup-steps': '2', 'warmup-ratio': '0.1' }, () => 10)).toThrow('give --warmup-steps or --warmup-ratio, not both');
    expect(() => settingsFromFlags(d, { 'warmup-steps': '20' }, () => 10)).toThrow(/--warmup-steps: expected a whole number in 0..10 \(the run has 10 optimizer steps\)/);
    expect(() => settingsFromFlags(d, { lr: 'fast' }, () => 10)).toThrow('--lr: expected a number, got "fast"');
  });
});
