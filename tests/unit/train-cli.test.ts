/**
 * `shadowft train` argument handling (no GPU): flags over the studio's defaults, and refusals before any work
 * (missing --train, a non-empty --out without --resume, both warmup flags, a bad --checkpoint-every).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainCommand, trainSettingsFromFlags } from '../../src/cli/train';
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

  it('refuses before any work: no --train, both warmup flags, a bad --checkpoint-every, a non-empty --out', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-train-args-'));
    dirs.push(tmp);
    await expect(trainCommand.run([...PAIR, '--out', tmp])).rejects.toThrow('--train FILE is required');
    await expect(trainCommand.run([...PAIR, '--train', 'x.json', '--out', tmp, '--warmup-steps', '2', '--warmup-ratio', '0.1'])).rejects.toThrow('give --warmup-steps or --warmup-ratio, not both');
    await expect(trainCommand.run([...PAIR, '--train', 'x.json', '--out', tmp, '--checkpoint-every', '1.5'])).rejects.toThrow(/--checkpoint-every: expected a whole number/);
    await writeFile(join(tmp, 'notes.txt'), 'mine');
    await expect(trainCommand.run([...PAIR, '--train', 'x.json', '--out', tmp])).rejects.toThrow(/is not empty \(notes.txt\); choose a new --out, or continue its run with --resume/);
    await expect(trainCommand.run([...PAIR, '--train', 'x.json', '--out', join(tmp, 'new'), '--resume', tmp])).rejects.toThrow(/--resume .*: no checkpoint in/);
  });
});
