/**
 * Whole-run progress (store/runProgress.ts): the bar covers tokenisation, loading and every evaluation, not just the
 * steps; a cached evaluation drops out; the ETA follows the measured speed (hand-computed expectations).
 */
import { describe, expect, it } from 'vitest';
import { planPhases, progressOf, startTracker, totalSec, track, type Speeds } from '../../src/store/runProgress';
import type { RunEstimate } from '../../src/worker/protocol';
import { speedsFrom } from '../../src/store/trainingSlice';
import { ASSUMED_FALLBACK_SPEEDS, ASSUMED_SPEEDS } from '../../src/store/runProgress';
import type { RunRecord } from '../../src/store/runHistory';
import { evalsDuringTraining } from '../../src/app/runEstimate';

// 1 FLOP/s, 1 byte/s, 1 s per conversation: estimates in seconds equal the counts below.
const SPEEDS: Speeds = { flopsPerSec: 1, measured: false, bytesPerSec: 1, secPerConversation: 1 };
const EST = { totalSteps: 4, conversations: 2, trainFlops: 40, evalPassFlops: 5, evalBatches: 2, evalPasses: 4, baseBytes: 3, instructBytes: 3, cachedEvals: { base: false, instruct: false } } as RunEstimate;

describe('run progress', () => {
  it('plans every phase with its estimate', () => {
    const p = planPhases(EST, SPEEDS);
    expect(p.map((x) => [x.id, x.estSec])).toEqual([
      ['tokenise', 2], ['load-base', 3], ['eval-base', 5], ['train', 40], ['eval-base+lora', 5], ['load-instruct', 3], ['eval-instruct', 5], ['eval-instruct+graft', 5],
    ]);
    expect(totalSec(p)).toBe(68);
    expect(planPhases({ ...EST, evalPasses: 0 }, SPEEDS).map((x) => x.id)).toEqual(['tokenise', 'load-base', 'train']);
    expect(totalSec(planPhases({ ...EST, cachedEvals: { base: true, instruct: true } }, SPEEDS))).toBe(58);
  });

  it('the fraction covers tokenise, load and evals; the ETA scales with the measured compute speed', () => {
    const s0 = 0;
    let t = startTracker(planPhases(EST, SPEEDS), s0);
    t = track(t, { status: 'preparing', phase: 'tokenise', message: 'tok' }, 0);
    t = track(t, { status: 'preparing', phase: 'load', message: 'load' }, 2000); // tokenise took 2 s (as estimated)
    t = track(t, { status: 'evaluating', message: 'e', model: 'base', batch: 0, batches: 2 }, 5000); // load 3 s
    expect(progressOf(t, 5000, 1).fraction).toBeCloseTo(5 / 68, 12);
    t = track(t, { status: 'evaluating', message: 'e', model: 'base', batch: 1, batches: 2 }, 10_000); // half the eval (2.5 s est) took 5 s: compute is 2× slower
    const v = progressOf(t, 10_000, 1);
    expect(v.fraction).toBeCloseTo(7.5 / 68, 12);
    expect(v.phases.find((p) => p.id === 'eval-base')?.fraction).toBe(0.5);
    // remaining: compute 2.5 + 40 + 5 + 5 + 5 = 57.5 est s at ratio 2 = 115 s; io 3 s at ratio 1
    expect(v.etaSec).toBeCloseTo(115 + 3, 9);
    expect(v.measuredFlopsPerSec).toBeCloseTo(0.5, 12);
  });

  it('a cached evaluation is skipped and adds no work', () => {
    let t = startTracker(planPhases(EST, SPEEDS), 0);
    t = track(t, { status: 'preparing', phase: 'load', message: 'load' }, 2000);
    t = track(t, { status: 'eval', model: 'base', when: 'before', loss: 1, cached: true }, 5000);
    const v = progressOf(t, 5000, 1);
    expect(v.phases.find((p) => p.id === 'eval-base')?.skipped).toBe(true);
    expect(v.fraction).toBeCloseTo(5 / 63, 12);
    t = track(t, { status: 'step', step: 1, totalSteps: 4, loss: 1, learningRate: 0, gradNorm: 0, tokensPerSec: 0, etaSec: 0 }, 15_000); // 10 s for 10 est s
    expect(progressOf(t, 15_000, 1).fraction).toBeCloseTo(15 / 63, 12);
  });
});

describe('a resumed run', () => {
  it('starts its whole-run bar at the checkpoint and estimates only the steps left (issue 20, fault 2)', () => {
    const step = (n: number) => ({ status: 'step', step: n, totalSteps: 4, loss: 1, learningRate: 0, gradNorm: 0, tokensPerSec: 0, etaSec: 0 }) as const;
    let t = startTracker(planPhases(EST, SPEEDS), 0);
    t = track(t, { status: 'preparing', phase: 'tokenise', message: 'tok' }, 0);
    t = track(t, { status: 'resumed', step: 2, totalSteps: 4, history: [] }, 2000);
    t = track(t, { status: 'preparing', phase: 'load', message: 'load' }, 2000);
    t = track(t, { status: 'eval', model: 'base', when: 'before', loss: 1, cached: true }, 5000);
    // tokenise 2 + load 3 + half the training (20) of 63 estimated seconds (the Base loss came from the checkpoint)
    let v = progressOf(t, 5000, 1);
    expect(v.fraction).toBeCloseTo(25 / 63, 12);
    expect(v.phases.find((p) => p.id === 'train')?.fraction).toBe(0.5);
    expect(v.etaSec).toBeCloseTo(20 + 5 + 3 + 5 + 5, 9);
    t = track(t, step(3), 15_000); // the first step after the resume (not measured: it follows a finished phase)
    t = track(t, step(4), 35_000); // 20 s for 10 estimated: compute is 2× slower
    v = progressOf(t, 35_000, 1);
    expect(v.fraction).toBeCloseTo(45 / 63, 12);
    expect(v.etaSec).toBeCloseTo(2 * 15 + 3, 9);
  });
});

describe('speedsFrom', () => {
  it('uses the newest measured speed of the same device, else the assumed one (slower on a fallback adapter)', () => {
    const runs = [
      { device: 'gpu A', measuredFlopsPerSec: null },
      { device: 'gpu A', measuredFlopsPerSec: 3e9 },
      { device: 'gpu A', measuredFlopsPerSec: 1e9 },
      { device: 'swiftshader (fallback)', measuredFlopsPerSec: 2e8 },
    ] as unknown as RunRecord[];
    expect(speedsFrom(runs, 'gpu A', false)).toEqual({ ...ASSUMED_SPEEDS, flopsPerSec: 3e9, measured: true, source: 'run' });
    expect(speedsFrom(runs, 'gpu B', false)).toEqual(ASSUMED_SPEEDS);
    expect(speedsFrom([], 'x (fallback)', true)).toEqual(ASSUMED_FALLBACK_SPEEDS);
  });
});

describe('evaluation during training in the estimate', () => {
  it('counts the held-out passes between steps and adds them to the training phase', () => {
    expect(evalsDuringTraining(60, 20, true)).toBe(2); // after steps 20 and 40; 60 is the after-training evaluation
    expect(evalsDuringTraining(61, 20, true)).toBe(3);
    expect(evalsDuringTraining(60, 0, true)).toBe(0);
    expect(evalsDuringTraining(60, 20, false)).toBe(0);
    const without = planPhases({ ...EST, evalsDuringTraining: 0 }, SPEEDS).find((p) => p.id === 'train')!;
    const withTwo = planPhases({ ...EST, evalsDuringTraining: 2 }, SPEEDS).find((p) => p.id === 'train')!;
    expect(withTwo.estSec - without.estSec).toBeCloseTo((2 * EST.evalPassFlops) / SPEEDS.flopsPerSec, 12);
    expect(withTwo.label).toBe('Train 4 steps (+ 2 held-out evaluations)');
  });
});
