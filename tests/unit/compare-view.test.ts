/**
 * The Compare panel's pure parts: the CSV download (papaparse unparse, re-parsed here), the two curves on one step
 * axis, the store's fold of comparison events (both runs' steps become the two curves), which cells are bold, and
 * the shared colour range of side-by-side heatmaps.
 */
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { compareCsv } from '../../src/ui/compare/compareCsv';
import { alignCurves } from '../../src/ui/compare/curves';
import { applyCompareEvent, IDLE_COMPARE } from '../../src/store/compareSlice';
import type { CompareView, SimilarityRow } from '../../src/worker/client';
import { bestModels } from '../../src/ui/compare/bestCells';
import { sigmaRange } from '../../src/ui/heatmapLayout';

const none = { instruct: null, instruct_conventional: null, instruct_shadow: null, base: null, base_lora: null };
const view = {
  result: {
    heldout_loss: { instruct: 1.3668, instruct_conventional: 0.657, instruct_shadow: 0.8933, base: 1.4753, base_lora: 0.7413 },
    exact_match: { instruct: 0, instruct_conventional: 0, instruct_shadow: 0, base: 0, base_lora: 0 },
    check_rate: none,
    mean_answer_tokens: { instruct: 48, instruct_conventional: 40.5, instruct_shadow: 48, base: 47, base_lora: 41 },
  },
} as unknown as CompareView;

describe('compare view', () => {
  it('CSV: header, one row per model in order, empty cells where not measured', () => {
    const rows = Papa.parse<string[]>(compareCsv(view), { skipEmptyLines: true }).data;
    expect(rows[0]).toEqual(['model', 'label', 'heldout_loss', 'exact_match', 'check_rate', 'mean_answer_tokens']);
    expect(rows.slice(1)).toEqual([
      ['instruct', 'Instruct', '1.3668', '0', '', '48'],
      ['instruct_conventional', 'Instruct + conventional LoRA', '0.657', '0', '', '40.5'],
      ['instruct_shadow', 'Instruct + Shadow-FT graft', '0.8933', '0', '', '48'],
      ['base', 'Base', '1.4753', '0', '', '47'],
      ['base_lora', 'Base + LoRA', '0.7413', '0', '', '41'],
    ]);
  });
  it('aligns the two curves on the union of steps (null where a run has not reached a step)', () => {
    expect(alignCurves([{ step: 1, loss: 2 }, { step: 2, loss: 1.5 }], [{ step: 1, loss: 1.8 }])).toEqual([[1, 2], [2, 1.5], [1.8, null]]);
  });
  it('folds the steps of both runs into two curves', () => {
    const step = (s: number, loss: number) => ({ status: 'step', step: s, totalSteps: 2, loss, learningRate: 1e-3, gradNorm: 1, tokensPerSec: 1, etaSec: 0 }) as const;
    let c = applyCompareEvent(IDLE_COMPARE, { status: 'compare-train', run: 'shadow', event: step(1, 1.4) });
    c = applyCompareEvent(c, { status: 'compare-train', run: 'shadow', event: step(2, 1.3) });
    c = applyCompareEvent(c, { status: 'compare-train', run: 'conventional', event: step(1, 1.2) });
    c = applyCompareEvent(c, { status: 'compare-loss', model: 'base', loss: 1.47 });
    expect(c.curves).toEqual({ shadow: [{ step: 1, loss: 1.4 }, { step: 2, loss: 1.3 }], conventional: [{ step: 1, loss: 1.2 }] });
    expect(c.totalSteps).toEqual({ shadow: 2, conventional: 2 });
    expect(c.log).toEqual(['held-out loss of Base: 1.4700']);
  });
});

describe('compare table marks', () => {
  const withVerdicts = (best: Record<string, readonly string[]>): CompareView =>
    ({ ...view, wording: { verdicts: Object.entries(best).map(([measure, b]) => ({ measure, winner: null, best: b, text: '' })), disagreements: [], notes: [] } }) as unknown as CompareView;
  it('bolds no cell when every measured model ties (0% (0/30) for all five), the winners otherwise (issue 20, fault 9)', () => {
    const all = ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'];
    const v = withVerdicts({ exact_match: all, heldout_loss: ['instruct_conventional'], check_rate: [] });
    expect([...bestModels(v, 'exact_match')]).toEqual([]);
    expect([...bestModels(v, 'heldout_loss')]).toEqual(['instruct_conventional']);
    expect([...bestModels(v, 'check_rate')]).toEqual([]);
    expect([...bestModels(withVerdicts({ exact_match: ['instruct', 'base'] }), 'exact_match')]).toEqual(['instruct', 'base']);
  });
});

describe('heatmap colour range', () => {
  it('is shared by side-by-side reports: min and max over both', () => {
    const rows = (...s: number[]) => s.map((sigma) => ({ sigma }) as SimilarityRow);
    expect(sigmaRange(rows(0, 0.021), rows(0.0008, 0.057))).toEqual({ min: 0, max: 0.057 });
    expect(sigmaRange()).toEqual({ min: 0, max: 0 });
  });
});
