/**
 * `shadowft train` argument handling (no GPU): flags over the studio's defaults, and refusals before any work
 * (missing --train, a non-empty --out without --resume, both warmup flags, a bad --checkpoint-every).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainCommand } from '../../src/cli/train';
import { warmupSteps } from '../../src/engine/train/schedule';
import { trainSettingsFromFlags, warmupRatioForSteps } from '../../src/cli/trainFlags';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import type { ModelConfig } from '../../src/io/config/types';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const cfg = { hiddenSize: 64, maxPositionEmbeddings: 512, slidingWindow: null } as unknown as ModelConfig;
const M = '../shared/models';
const PAIR = [`${M}/stories260K-base`, `${M}/stories260K-instruct`];

describe('shadowft train flags', () => {
  it('start from the studio defaults; --rank sets α = 2r unless --alpha; the UI names of the fields', () => {
    const d = defaultTrainSettings(cfg, 100);
    expect(trainSettingsFromFlags(d, {})).toEqual(d);
    const s = trainSettingsFromFlags(d, { rank: '4', lr: '2e-3', 'batch-size': '3', 'grad-accum': '2', 'max-length': '96', 'warmup-ratio': '0.2', 'weight-decay': '0.01', seed: '7', 'max-steps': '9', epochs: '2', targets: 'v_proj,q_proj' });
    expect(s).toMatchObject({ learningRate: 2e-3, batchSize: 3, gradAccum: 2, maxLength: 96, warmupRatio: 0.2, weightDecay: 0.01, seed: 7, maxSteps: 9, epochs: 2 });
    expect(s.lora).toMatchObject({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] });
    expect(trainSettingsFromFlags(d, { rank: '4', alpha: '5' }).lora.alpha).toBe(5);
    expect(() => trainSettingsFromFlags(d, { targets: 'q_proj,lm_head' })).toThrow(/--targets: lm_head is not one of/);
    expect(() => trainSettingsFromFlags(d, { lr: 'fast' })).toThrow('--lr: expected a number, got "fast"');
  });

  it('the earlier short names are aliases (handoff), never both; --warmup-steps W gives exactly W warmup steps', () => {
    const d = defaultTrainSettings(cfg, 100);
    const a = trainSettingsFromFlags(d, { batch: '4', accum: '2', wd: '0.01', warmup: '0.2', clip: '0.5' });
    expect(a).toEqual(trainSettingsFromFlags(d, { 'batch-size': '4', 'grad-accum': '2', 'weight-decay': '0.01', 'warmup-ratio': '0.2', 'max-grad-norm': '0.5' }));
    expect(() => trainSettingsFromFlags(d, { batch: '4', 'batch-size': '8' })).toThrow('give --batch-size or its alias --batch, not both');
    // schedule.ts warmupSteps = ceil(total · ratio): every W in 0..total must come back exactly
    for (const total of [1, 7, 114, 1000]) for (let w = 0; w <= total; w++) expect(warmupSteps(total, warmupRatioForSteps(w, total))).toBe(w);
    expect(() => warmupRatioForSteps(3, 2)).toThrow(/--warmup-steps: expected a whole number in 0..2/);
  });

  it('refuses before any work: no --train, both warmup flags, a bad --checkpoint-every, a non-empty --out', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-train-args-'));
    dirs.push(tmp);
    await expect(trainCommand.run([...PAIR, '--out', tmp])).rejects.toThrow('--train FILE is required');
    await expect(trainCommand.run([...PAIR, '--train', 'x.json', '--out', tmp, '--warmup-steps', '2', '--warmup-ratio', '0.1'])).rejects.toThrow('give --warmup-steps or --warmup-ratio, not both');
    await expect(trainCommand.run([...PAIR, '--train', 'x.json', '--out', tmp, '--checkpoint-every', '1.5'])).rejects.toThrow(/--checkpoint-every: expected a whole number/);
    await writeFile(join(tmp, 'notes.txt'), 'mine');
    await expect(trainCommand.run([...PAIR, '--train', 'x.json', '--out', tmp])).rejects.toThrow(/is not empty \(notes.txt\); choose a new --out, or continue its run with the same command plus --resume/);
    // a folder holding only the run.log of a run that stopped before its first checkpoint is reused; a missing dataset is named
    const logOnly = join(tmp, 'log-only');
    await mkdir(logOnly);
    await writeFile(join(logOnly, 'run.log'), 'earlier failed start\n');
    await expect(trainCommand.run([...PAIR, '--train', join(tmp, 'nope.json'), '--out', logOnly])).rejects.toThrow(`${join(tmp, 'nope.json')}: no such file`);
    await expect(trainCommand.run([...PAIR, '--train', 'x.json', '--out', join(tmp, 'new'), '--resume', tmp])).rejects.toThrow(/--resume .*: no checkpoint in/);
  });
});

describe('shadowft train and the data', () => {
  it('refuses --batch-size above the number of training examples, naming both (issue 20, fault 7)', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-train-batch-'));
    dirs.push(tmp);
    const data = join(tmp, 'train.json');
    await writeFile(data, JSON.stringify([{ instruction: 'a', output: 'b' }, { instruction: 'c', output: 'd' }, { instruction: 'e', output: 'f' }]));
    await expect(trainCommand.run([...PAIR, '--train', data, '--out', join(tmp, 'out'), '--batch-size', '100000'])).rejects.toThrow(
      '--batch-size: 100000 is more than the 3 training examples; set --batch-size to at most 3 (raise --grad-accum for a larger effective batch).',
    );
  });
});
