/**
 * The two training loss curves of a comparison overlaid with uPlot (useLossPlot.ts, as LossChart.tsx): Shadow-FT
 * (LoRA on Base) and conventional (LoRA on Instruct), raw loss per optimizer step on a shared step axis.
 */
import { useMemo } from 'react';
import type uPlot from 'uplot';
import type { CurvePoint } from '../../store/compareSlice';
import { useLossPlot } from '../useLossPlot';
import { alignCurves } from './curves';

const SERIES: uPlot.Series[] = [
  { label: 'Shadow-FT (LoRA on Base)', stroke: 'rgb(214, 80, 40)', width: 2, points: { show: false }, spanGaps: true },
  { label: 'conventional (LoRA on Instruct)', stroke: 'rgb(59, 82, 139)', width: 2, points: { show: false }, spanGaps: true },
];

/** The chart; re-renders its data when either curve changes. */
export function CompareChart({ shadow, conventional }: { shadow: readonly CurvePoint[]; conventional: readonly CurvePoint[] }) {
  const box = useLossPlot('training loss', SERIES, useMemo(() => alignCurves(shadow, conventional), [shadow, conventional]));
  return <div className="loss-chart" ref={box} data-testid="compare-chart" data-shadow-steps={shadow.length} data-conventional-steps={conventional.length} />;
}
