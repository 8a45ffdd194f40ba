/**
 * Stage dpo in the studio's state (no GPU): the reference pass is its own progress phase (store/runProgress.ts), the
 * run's 'reference' and 'pref-eval' events update the live run (store/trainingSlice.ts), and a ticked dataset of the
 * wrong kind is refused by name (app/prefTraining.ts).
 */
import { describe, expect, it } from 'vitest';
import { planPhases, progressOf, startTracker, track, type Speeds } from '../../src/store/runProgress';
import type { RunEstimate } from '../../src/worker/protocol';
import { applyTrainEvent, IDLE_RUN } from '../../src/store/trainingSlice';
import { refuseDatasetKinds } from '../../src/app/prefTraining';

const SPEEDS: Speeds = { flopsPerSec: 1, measured: false, bytesPerSec: 1, secPerConversation: 1 };
const EST = { totalSteps: 4, conversations: 4, trainFlops: 50, referenceFlops: 10, evalPassFlops: 5, evalBatches: 2, evalPasses: 4, baseBytes: 3, instructBytes: 3, cachedEvals: { base: false, instruct: false } } as RunEstimate;
const metrics = { rewardsChosen: 0.5, rewardsRejected: -0.25, accuracy: 0.75, margin: 0.75, logpsChosen: -20, logpsRejected: -30, sftLoss: 1.5 };

describe('stage dpo progress and run state', () => {
  it('plans the reference pass before the held-out Base pass, out of the training FLOPs', () => {
    expect(planPhases(EST, SPEEDS).map((p) => [p.id, p.estSec])).toEqual([
      ['tokenise', 4], ['load-base', 3], ['reference', 10], ['eval-base', 5], ['train', 40], ['eval-base+lora', 5], ['load-instruct', 3], ['eval-instruct', 5], ['eval-instruct+graft', 5],
    ]);
    let t = startTracker(planPhases(EST, SPEEDS), 0);
    t = track(t, { status: 'preparing', phase: 'load', message: 'load' }, 4000);
    t = track(t, { status: 'reference', batch: 0, batches: 4 }, 7000);
    t = track(t, { status: 'reference', batch: 2, batches: 4 }, 12_000);
    const v = progressOf(t, 12_000, 1);
    expect(v.phases.find((p) => p.id === 'reference')?.fraction).toBe(0.5);
    expect(v.fraction).toBeCloseTo((4 + 3 + 5) / 80, 12);
    t = track(t, { status: 'reference', batch: 4, batches: 4, cached: true }, 13_000);
    expect(progressOf(t, 13_000, 1).phases.find((p) => p.id === 'reference')?.skipped).toBe(true);
  });

  it('keeps the held-out preference metrics of each model, and logs the reference pass once', () => {
    let run = applyTrainEvent(IDLE_RUN, { status: 'reference', batch: 0, batches: 3 }, 't0');
    run = applyTrainEvent(run, { status: 'reference', batch: 1, batches: 3 }, 't1');
    expect(run.log.map((l) => l.text)).toEqual(['reference pass over 3 batches (model without the adapter)']);
    expect(run.message).toBe('reference log-probs (adapter off): batch 1/3');
    run = applyTrainEvent(run, { status: 'pref-eval', model: 'instruct+graft', when: 'after', metrics: { ...metrics, accuracy: 0.5 }, loss: 0.6 }, 't2');
    run = applyTrainEvent(run, { status: 'pref-eval', model: 'instruct+graft', when: 'after', metrics, loss: 0.4 }, 't3');
    expect(run.prefEvals).toEqual([{ model: 'instruct+graft', when: 'after', metrics, loss: 0.4 }]);
    expect(run.log.at(-1)?.text).toBe('held-out preference metrics of instruct+graft after training: accuracy 75.0%, margin 0.7500, log-probs chosen -20.000 / rejected -30.000, loss 0.4000');
  });

  it('draws the held-out preference loss every N steps with the SFT eval points, and names cached before-metrics', () => {
    let run = applyTrainEvent(IDLE_RUN, { status: 'eval-step', step: 2, totalSteps: 4, loss: 0.4, metrics }, 't0');
    expect(run.evalPoints).toEqual([{ step: 2, loss: 0.4 }]);
    expect(run.log.at(-1)?.text).toBe('held-out preference metrics of base+lora at step 2/4: accuracy 75.0%, margin 0.7500, log-probs chosen -20.000 / rejected -30.000, loss 0.4000');
    run = applyTrainEvent(run, { status: 'pref-eval', model: 'base', when: 'before', metrics, loss: 0.69, cached: true }, 't1');
    expect(run.log.at(-1)?.text).toMatch(/^held-out preference metrics of base before training: .* \(held-out log-probs from the checkpoint or an earlier run on the same pair and data\)$/);
  });

  it('refuses a dataset of the other kind, naming the file', () => {
    const ds = [{ name: 'titles.train.trl.jsonl', kind: 'preference' as const }, { name: 'titles.train.alpaca.json', kind: 'sft' as const }];
    expect(() => refuseDatasetKinds(ds, 'dpo')).toThrow('titles.train.alpaca.json is an SFT dataset (conversations); the DPO stage needs preference pairs');
    expect(() => refuseDatasetKinds(ds, 'sft')).toThrow('titles.train.trl.jsonl is a preference dataset (chosen/rejected pairs); choose the DPO stage');
    expect(() => refuseDatasetKinds(ds.slice(0, 1), 'dpo')).not.toThrow();
  });
});
