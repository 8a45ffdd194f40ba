/**
 * Training loss per optimizer step with uPlot (useLossPlot.ts): the raw loss and its EMA (ema.ts, w = 0.9), held-out
 * loss of Base + LoRA as points where it was measured (every "Evaluate every" steps and after training), and the
 * learning rate on its own right-hand axis (lossChartData.ts).
 */
import { useMemo } from 'react';
import type uPlot from 'uplot';
import type { EvalPoint, StepPoint } from '../store';
import { lossChartData } from './lossChartData';
import { useLossPlot } from './useLossPlot';
import { lrTick } from './format';

const SERIES: uPlot.Series[] = [
  { label: 'loss', stroke: 'rgba(59, 82, 139, 0.45)', width: 1, points: { show: false } },
  { label: 'EMA', stroke: 'rgb(214, 80, 40)', width: 2, points: { show: false } },
  { label: 'held-out', stroke: 'rgb(33, 145, 140)', width: 2, spanGaps: true, points: { show: true, size: 8, fill: 'rgb(33, 145, 140)' } },
  { label: 'learning rate', scale: 'lr', stroke: 'rgba(120, 120, 120, 0.8)', width: 1, dash: [4, 4], points: { show: false } },
];

const EXTRA = { scales: { lr: { auto: true } }, axes: [{ scale: 'lr', side: 1, label: 'learning rate', grid: { show: false }, size: 70, values: (_u: uPlot, splits: number[]) => splits.map(lrTick) }] satisfies uPlot.Axis[] };

/** The loss chart; re-renders its data when the points change. `after`: Base + LoRA's held-out loss after training. */
export function LossChart({ points, evalPoints = [], after = null }: { points: readonly StepPoint[]; evalPoints?: readonly EvalPoint[]; after?: number | null }) {
  const box = useLossPlot('loss', SERIES, useMemo(() => lossChartData(points, evalPoints, after) as unknown as uPlot.AlignedData, [points, evalPoints, after]), EXTRA);
  return <div className="loss-chart" ref={box} data-testid="loss-chart" data-heldout-points={evalPoints.length} />;
}
