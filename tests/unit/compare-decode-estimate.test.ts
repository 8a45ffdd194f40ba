/**
 * The arithmetic of the Compare estimate's answer time (issue 20, "estimate within ±30%"): the warm-up's decode
 * measure is the mean interval between consecutive new tokens (app/decodeWarmup.ts meanTokenInterval); the answer
 * stages are timed as their new tokens (prompts × Answer tokens, an upper bound) at that many seconds per token, while
 * training and evaluation stay FLOPs at the training speed (store/compareProgress.ts planCompare); without a decode
 * measure the answers are FLOPs at the training speed as before. An answer's FLOPs are the mean forward over prompt +
 * new tokens with and without the LoRA branches (app/compareEstimate.ts answerFlopsAt, on the demo's config).
 */
import { openAsBlob } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelConfig } from '../../src/io/config';
import { answerFlopsAt } from '../../src/app/compareEstimate';
import { meanTokenInterval } from '../../src/app/decodeWarmup';
import { forwardFlops } from '../../src/app/runEstimate';
import { requiredStepFlops } from '../../src/engine/plan/flops';
import { planCompare } from '../../src/store/compareProgress';
import type { Speeds } from '../../src/store/runProgress';
import type { CompareEstimate } from '../../src/worker/protocol';
import type { ModelConfig } from '../../src/io/config/types';
import type { LoraSettings } from '../../src/engine/model/loraTypes';

let cfg: ModelConfig;
beforeAll(async () => {
  cfg = await readModelConfig(await openAsBlob('public/demo/stories260K-base/config.json'), 'stories260K-base/config.json');
});
const lora = { r: 8, alpha: 16, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], useRslora: false } as unknown as LoraSettings;

describe('compare decode estimate', () => {
  it('an answer is the mean forward with and without LoRA', () => {
    const withLora = forwardFlops(requiredStepFlops(cfg, lora, 1, 40));
    const bare = forwardFlops(requiredStepFlops(cfg, { ...lora, targetModules: [] }, 1, 40));
    expect(withLora).toBeGreaterThan(bare);
    expect(answerFlopsAt(cfg, lora, 40)).toBe((withLora + bare) / 2);
  });

  it('seconds per token: the mean interval between consecutive tokens (the first one, after the prefill, is the start)', () => {
    // the first token came 500 ms after the call (prefill), then one every 20 ms
    expect(meanTokenInterval([1500, 1520, 1540, 1560])).toBeCloseTo(0.02, 12);
    expect(() => meanTokenInterval([5])).toThrow(RangeError);
  });

  it('times the answers as tokens at the measured seconds per token, everything else at the training speed', () => {
    const est = { run: { totalSteps: 4, trainFlops: 400, evalPassFlops: 50, evalBatches: 2, baseBytes: 30, instructBytes: 30 }, prompts: 2, answerFlops: 100, answerTokens: 128, models: 5 } as unknown as CompareEstimate;
    const train: Speeds = { flopsPerSec: 10, measured: true, bytesPerSec: 10, secPerConversation: 0 };
    const plain = planCompare(est, train);
    const decode = planCompare(est, { ...train, decodeSecPerToken: 0.05 });
    const sec = (p: ReturnType<typeof planCompare>, kind: string) => p.filter((x) => x.kind === kind).reduce((a, x) => a + x.estSec, 0);
    // training 2 × (400/10 + 30/10), losses 5 × 50/10 + 2 loads × 30/10: unchanged
    expect(sec(decode, 'compute')).toBeCloseTo(2 * (40 + 3) + 5 * 5 + 2 * 3, 12);
    expect(sec(decode, 'compute')).toBe(sec(plain, 'compute'));
    // five models × 128 new tokens × 50 ms; without a decode measure 5 × 100 FLOPs at 10 FLOP/s
    expect(sec(decode, 'decode')).toBeCloseTo(5 * 128 * 0.05, 12);
    expect(sec(plain, 'decode')).toBeCloseTo(5 * 10, 12);
  });
});
