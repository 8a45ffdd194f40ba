/**
 * The arithmetic of the Compare estimate's answer time (issue 20, "estimate within ±30%"): the decode speed is the
 * estimate's answer FLOPs of the timed generation over its seconds (app/compareEstimate.ts decodeFlopsPerSec), and the
 * answer stages are timed at that speed while training and evaluation stay at the training speed
 * (store/compareProgress.ts planCompare). Expectations from flops.ts on the demo's config, and by hand.
 */
import { openAsBlob } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelConfig } from '../../src/io/config';
import { answerFlopsAt, decodeFlopsPerSec } from '../../src/app/compareEstimate';
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
  it('an answer is the mean forward with and without LoRA; the decode speed is those FLOPs over the seconds', () => {
    const T = 40;
    const withLora = forwardFlops(requiredStepFlops(cfg, lora, 1, T));
    const bare = forwardFlops(requiredStepFlops(cfg, { ...lora, targetModules: [] }, 1, T));
    expect(withLora).toBeGreaterThan(bare);
    expect(answerFlopsAt(cfg, lora, T)).toBe((withLora + bare) / 2);
    // 16 prompt + 24 new tokens generated in 0.5 s
    expect(decodeFlopsPerSec(cfg, lora, 16, 24, 0.5)).toBe(answerFlopsAt(cfg, lora, 40) / 0.5);
    expect(() => decodeFlopsPerSec(cfg, lora, 16, 24, 0)).toThrow(RangeError);
    expect(() => decodeFlopsPerSec(cfg, lora, 0, 24, 1)).toThrow(/prompt/);
  });

  it('times the answers at the measured decode speed and everything else at the training speed', () => {
    const est = { run: { totalSteps: 4, trainFlops: 400, evalPassFlops: 50, evalBatches: 2, baseBytes: 30, instructBytes: 30 }, prompts: 2, answerFlops: 100, models: 5 } as unknown as CompareEstimate;
    const train: Speeds = { flopsPerSec: 10, measured: true, bytesPerSec: 10, secPerConversation: 0 };
    const plain = planCompare(est, train);
    const decode = planCompare(est, { ...train, decodeFlopsPerSec: 2 });
    const sec = (p: ReturnType<typeof planCompare>, kind: string) => p.filter((x) => x.kind === kind).reduce((a, x) => a + x.estSec, 0);
    // training 2 × (400/10 + 30/10), losses 5 × 50/10 + 2 loads × 30/10: unchanged
    expect(sec(decode, 'compute')).toBeCloseTo(2 * (40 + 3) + 5 * 5 + 2 * 3, 12);
    expect(sec(decode, 'compute')).toBe(sec(plain, 'compute'));
    // five models' answers: 5 × 100 FLOPs at 2 FLOP/s (not 10)
    expect(sec(decode, 'decode')).toBeCloseTo(5 * 50, 12);
    expect(sec(plain, 'decode')).toBeCloseTo(5 * 10, 12);
  });
});
