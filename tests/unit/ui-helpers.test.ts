/**
 * Pure helpers of the UI and store: the EMA of the loss chart (against a direct formula), the heatmap's column
 * order, the colour scale's end points, and the training-run reducer over a TrainEvent sequence.
 */
import { describe, expect, it } from 'vitest';
import { emaSmooth } from '../../src/store/ema';
import { heatmapColumns } from '../../src/ui/heatmapLayout';
import { normalise, viridis } from '../../src/ui/colorScale';
import { applyTrainEvent, IDLE_RUN } from '../../src/store/trainingSlice';
import { lossChartData } from '../../src/ui/lossChartData';
import type { SimilarityRow } from '../../src/worker/client';

describe('emaSmooth', () => {
  it('equals the bias-corrected weighted mean Σ w^(n−k)(1−w)x_k / (1 − w^n)', () => {
    const xs = [3, 1, 4, 1, 5, 9, 2, 6];
    const w = 0.8;
    const got = emaSmooth(xs, w);
    xs.forEach((_, n) => {
      let num = 0;
      for (let k = 0; k <= n; k++) num += w ** (n - k) * (1 - w) * (xs[k] as number);
      expect(got[n]).toBeCloseTo(num / (1 - w ** (n + 1)), 12);
    });
    expect(emaSmooth([2.5], 0.9)).toEqual([2.5]);
    expect(emaSmooth([1, 2], 0)).toEqual([1, 2]);
  });
});

describe('heatmapColumns', () => {
  it('orders known module kinds first and appends the rest alphabetically', () => {
    const row = (module: string, layer: number | null): SimilarityRow => ({ tensor: module, layer, module, shape: [1], numel: 1, sigma: 0 });
    const rows = ['zeta', 'down_proj', 'q_proj.bias', 'input_layernorm', 'q_proj', 'k_norm'].map((m) => row(m, 0));
    expect(heatmapColumns([...rows, row('embed_tokens', null)])).toEqual(['q_proj', 'down_proj', 'input_layernorm', 'k_norm', 'q_proj.bias', 'zeta']);
  });
});

describe('colour scale', () => {
  it('maps the ends to viridis end colours and clamps', () => {
    expect(viridis(0)).toBe('rgb(68, 1, 84)');
    expect(viridis(1)).toBe('rgb(253, 231, 37)');
    expect(viridis(2)).toBe(viridis(1));
    expect(normalise(3, 1, 5)).toBe(0.5);
    expect(normalise(3, 3, 3)).toBe(0.5);
  });
});

describe('applyTrainEvent', () => {
  it('collects steps and evals and keeps the last message', () => {
    const AT = '2026-12-01T23:00:00.000Z';
    let run = applyTrainEvent(IDLE_RUN, { status: 'preparing', message: 'tokenising' }, AT);
    expect(run.message).toBe('tokenising');
    run = applyTrainEvent(run, { status: 'eval', model: 'base', when: 'before', loss: 1.5 }, AT);
    for (let s = 1; s <= 3; s++) run = applyTrainEvent(run, { status: 'step', step: s, totalSteps: 3, loss: 2 - s / 10, learningRate: 1e-3, gradNorm: 0.5, tokensPerSec: 100, etaSec: 3 - s }, AT);
    run = applyTrainEvent(run, { status: 'eval', model: 'base+lora', when: 'after', loss: 1.2 }, AT);
    run = applyTrainEvent(run, { status: 'eval', model: 'base', when: 'before', loss: 1.4 }, AT);
    expect(run.points.map((p) => p.loss)).toEqual([1.9, 1.8, 1.7]);
    expect(run.totalSteps).toBe(3);
    expect(run.message).toBe('');
    expect(run.evals).toEqual([
      { model: 'base+lora', when: 'after', loss: 1.2 },
      { model: 'base', when: 'before', loss: 1.4 },
    ]);
    expect(applyTrainEvent(run, { status: 'error', message: 'device lost' }, AT).error).toBe('device lost');
    // the run log is timestamped
    expect(run.log[0]).toEqual({ at: AT, text: 'tokenising' });
  });
});

describe('lossChartData', () => {
  it('puts held-out points at their steps, the after-training loss at the last step, and the learning rate', () => {
    const pts = [1, 2, 3, 4].map((step) => ({ step, loss: 5 - step, learningRate: step * 1e-3, gradNorm: 1 }));
    const [steps, loss, ema, heldout, lr] = lossChartData(pts, [{ step: 2, loss: 3.5 }], 1.25);
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(loss).toEqual([4, 3, 2, 1]);
    expect(ema).toHaveLength(4);
    expect(heldout).toEqual([null, 3.5, null, 1.25]);
    expect(lr).toEqual([1e-3, 2e-3, 3e-3, 4e-3]);
    expect(lossChartData(pts, [], null)[3]).toEqual([null, null, null, null]);
  });

  it("applyTrainEvent keeps 'eval-step' points in step order and drops those past a resume point", () => {
    let run = applyTrainEvent(IDLE_RUN, { status: 'eval-step', step: 20, totalSteps: 60, loss: 2 }, 't');
    run = applyTrainEvent(run, { status: 'eval-step', step: 40, totalSteps: 60, loss: 1.5 }, 't');
    expect(run.evalPoints).toEqual([{ step: 20, loss: 2 }, { step: 40, loss: 1.5 }]);
    expect(run.log.map((l) => l.text)).toEqual(['held-out loss of base+lora at step 20/60: 2.0000', 'held-out loss of base+lora at step 40/60: 1.5000']);
    run = applyTrainEvent(run, { status: 'resumed', step: 30, totalSteps: 60, history: [] }, 't');
    expect(run.evalPoints).toEqual([{ step: 20, loss: 2 }]);
  });
});
