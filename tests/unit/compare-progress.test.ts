/**
 * Whole-job progress of a comparison (store/compareProgress.ts, issue 20 fault 1): every stage — both trainings,
 * each model's held-out loss and answers — is on one bar weighted by its estimate; the ETA scales with the measured
 * speed per kind of work (hand-computed expectations).
 */
import { describe, expect, it } from 'vitest';
import { compareProgressOf, planCompare, startCompareTracker, trackCompare } from '../../src/store/compareProgress';
import type { Speeds } from '../../src/store/runProgress';
import type { CompareEstimate, CompareEvent } from '../../src/worker/protocol';

// 1 FLOP/s and 1 byte/s: estimates in seconds equal the counts.
const SPEEDS: Speeds = { flopsPerSec: 1, measured: false, bytesPerSec: 1, secPerConversation: 1 };
const EST = { run: { totalSteps: 4, trainFlops: 40, evalPassFlops: 5, evalBatches: 2, baseBytes: 3, instructBytes: 3 }, prompts: 2, answerFlops: 10, models: 5 } as unknown as CompareEstimate;
const step = (run: 'shadow' | 'conventional', n: number): CompareEvent => ({ status: 'compare-train', run, event: { status: 'step', step: n, totalSteps: 4, loss: 1, learningRate: 0, gradNorm: 0, tokensPerSec: 0, etaSec: 0 } });

describe('compare progress', () => {
  it('plans both trainings, five held-out losses and five answer stages in the order they run', () => {
    const p = planCompare(EST, SPEEDS);
    expect(p.map((x) => [x.id, x.estSec])).toEqual([
      ['train-shadow', 43], ['train-conventional', 43],
      ['loss-base', 8], ['answers-base', 10], ['loss-base_lora', 5], ['answers-base_lora', 10],
      ['loss-instruct', 8], ['answers-instruct', 10], ['loss-instruct_conventional', 5], ['answers-instruct_conventional', 10],
      ['loss-instruct_shadow', 5], ['answers-instruct_shadow', 10],
    ]);
    expect(planCompare({ ...EST, prompts: 0 }, SPEEDS).some((x) => x.id.startsWith('answers'))).toBe(false);
  });

  it('names the stages by the kind of comparison (LoRA SFT by default, DPO, full)', () => {
    const labels = (kind?: CompareEstimate['kind']) => planCompare({ ...EST, ...(kind ? { kind } : {}) }, SPEEDS).map((x) => x.label);
    expect(labels()).toContain('Train LoRA on Base (Shadow-FT): 4 steps');
    const dpo = labels({ stage: 'dpo', finetuningType: 'lora' });
    expect(dpo).toContain('Train DPO on Base (Shadow-DPO): 4 steps');
    expect(dpo).toContain('Held-out loss: Instruct + DPO');
    expect(labels({ stage: 'sft', finetuningType: 'full' })).toContain('Train full-parameter on Instruct (conventional): 4 steps');
  });

  it('moves one bar through every stage, with an ETA that follows the measured speed', () => {
    let t = startCompareTracker(planCompare(EST, SPEEDS), 2, 0);
    t = trackCompare(t, step('shadow', 2), 43_000); // half of 43 est s took 43 s: 2× slower
    let v = compareProgressOf(t, 43_000);
    expect(v.fraction).toBeCloseTo(21.5 / 167, 12);
    // remaining compute (21.5 + 43 + 31) and answers (50, no answer measured yet: the compute ratio) at ratio 2
    expect(v.etaSec).toBeCloseTo(2 * (21.5 + 43 + 31 + 50), 9);
    t = trackCompare(t, step('shadow', 4), 86_000);
    t = trackCompare(t, step('conventional', 4), 172_000);
    t = trackCompare(t, { status: 'compare-eval', model: 'base', batch: 1, batches: 2 }, 180_000);
    t = trackCompare(t, { status: 'compare-loss', model: 'base', loss: 1 }, 188_000);
    t = trackCompare(t, { status: 'compare-generating', model: 'base', prompt: 1, prompts: 2 }, 188_000);
    t = trackCompare(t, { status: 'compare-answer', model: 'base', answer: { index: 0, text: 'a', tokens: 1, exact: false, check: null } }, 193_000); // 5 s for 5 est s
    v = compareProgressOf(t, 193_000);
    expect(v.phases.find((p) => p.id === 'answers-base')?.fraction).toBe(0.5);
    expect(v.phases.find((p) => p.id === 'loss-base')?.fraction).toBe(1);
    expect(v.fraction).toBeCloseTo((86 + 8 + 5) / 167, 12);
    // compute ratio (172 + 16 s for 86 + 8 est s) = 2; answers at the measured 1
    expect(v.etaSec).toBeCloseTo(2 * (5 + 8 + 5 + 5) + (5 + 40), 9);
  });
});
