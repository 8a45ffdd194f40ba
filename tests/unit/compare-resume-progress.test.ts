/**
 * The whole-job bar of a resumed comparison (store/compareProgress.ts, issue 20): the stages an earlier attempt
 * finished ('compare-resumed') and the steps of a resumed training ('resumed') count as done without counting the
 * time since the last event as their work, so the ETA's measured-speed ratio is that of work really timed
 * (hand-computed expectations at 1 FLOP/s).
 */
import { describe, expect, it } from 'vitest';
import { compareProgressOf, planCompare, startCompareTracker, trackCompare } from '../../src/store/compareProgress';
import type { Speeds } from '../../src/store/runProgress';
import type { CompareEstimate, CompareEvent } from '../../src/worker/protocol';

const SPEEDS: Speeds = { flopsPerSec: 1, measured: false, bytesPerSec: 1, secPerConversation: 1 };
const EST = { run: { totalSteps: 4, trainFlops: 40, evalPassFlops: 5, evalBatches: 2, baseBytes: 3, instructBytes: 3 }, prompts: 2, answerFlops: 10, models: 5 } as unknown as CompareEstimate;
const step = (run: 'shadow' | 'conventional', n: number): CompareEvent => ({ status: 'compare-train', run, event: { status: 'step', step: n, totalSteps: 4, loss: 1, learningRate: 0, gradNorm: 0, tokensPerSec: 0, etaSec: 0 } });

describe('resumed compare progress', () => {
  it('counts finished stages and resumed steps as done, timing only the work after the resume', () => {
    let t = startCompareTracker(planCompare(EST, SPEEDS), 2, 0);
    // After a reload: Shadow-FT trained, conventional resumed at step 2 of 4 — 10 minutes after the page opened.
    t = trackCompare(t, { status: 'compare-resumed', trained: [{ run: 'shadow', steps: 4, losses: [1, 1, 1, 1] }], measured: [], checkpoint: { run: 'conventional', step: 2, totalSteps: 4 } }, 600_000);
    let v = compareProgressOf(t, 600_000);
    // done: 43 (shadow) + 21.5 (half of conventional) of 167 estimated seconds
    expect(v.fraction).toBeCloseTo((43 + 21.5) / 167, 12);
    // nothing was timed yet: the remaining estimate at ratio 1 (the 600 s before the resume are not work)
    expect(v.etaSec).toBeCloseTo(21.5 + 31 + 50, 9);
    expect(v.phases.find((p) => p.id === 'train-conventional')?.current).toBe(true);
    t = trackCompare(t, { status: 'compare-train', run: 'conventional', event: { status: 'resumed', step: 2, totalSteps: 4, history: [], evalPoints: [] } }, 601_000);
    // step 3 takes 21.5 s for 10.75 estimated seconds: ratio 2 (the 1 s of the 'resumed' event is not counted either)
    t = trackCompare(t, step('conventional', 3), 622_500);
    v = compareProgressOf(t, 622_500);
    expect(v.fraction).toBeCloseTo((43 + 32.25) / 167, 12);
    expect(v.etaSec).toBeCloseTo(2 * (10.75 + 31 + 50), 9);
  });

  it('marks measured models done: their loss and answer stages', () => {
    let t = startCompareTracker(planCompare(EST, SPEEDS), 2, 0);
    t = trackCompare(t, { status: 'compare-resumed', trained: [{ run: 'shadow', steps: 4, losses: [] }, { run: 'conventional', steps: 4, losses: [] }], measured: ['base', 'base_lora'], checkpoint: null }, 5_000);
    const v = compareProgressOf(t, 5_000);
    expect(v.fraction).toBeCloseTo((86 + 8 + 10 + 5 + 10) / 167, 12);
    expect(v.phases.find((p) => p.current)?.id).toBe('loss-instruct');
  });
});
