/**
 * Training loss per optimizer step with uPlot (useLossPlot.ts): the raw loss and its EMA (ema.ts, w = 0.9).
 */
import { useMemo } from 'react';
import type uPlot from 'uplot';
import type { StepPoint } from '../store';
import { emaSmooth } from '../store/ema';
import { useLossPlot } from './useLossPlot';

function data(points: readonly StepPoint[]): uPlot.AlignedData {
  const loss = points.map((p) => p.loss);
  return [points.map((p) => p.step), loss, emaSmooth(loss)];
}

const SERIES: uPlot.Series[] = [
  { label: 'loss', stroke: 'rgba(59, 82, 139, 0.45)', width: 1, points: { show: false } },
  { label: 'EMA', stroke: 'rgb(214, 80, 40)', width: 2, points: { show: false } },
];

/** The loss chart; re-renders its data when `points` changes. */
export function LossChart({ points }: { points: readonly StepPoint[] }) {
  const box = useLossPlot('loss', SERIES, useMemo(() => data(points), [points]));
  return <div className="loss-chart" ref={box} data-testid="loss-chart" />;
}
