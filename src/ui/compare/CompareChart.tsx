/**
 * The two training loss curves of a comparison overlaid with uPlot (as LossChart.tsx): Shadow-FT (LoRA on Base) and
 * conventional (LoRA on Instruct), raw loss per optimizer step on a shared step axis.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { CurvePoint } from '../../store/compareSlice';
import { alignCurves } from './curves';

/** The chart; re-renders its data when either curve changes. */
export function CompareChart({ shadow, conventional }: { shadow: readonly CurvePoint[]; conventional: readonly CurvePoint[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = (): number => Math.max(280, el.clientWidth);
    const u = new uPlot(
      {
        width: width(),
        height: 240,
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, { label: 'training loss' }],
        series: [
          { label: 'step' },
          { label: 'Shadow-FT (LoRA on Base)', stroke: 'rgb(214, 80, 40)', width: 2, points: { show: false }, spanGaps: true },
          { label: 'conventional (LoRA on Instruct)', stroke: 'rgb(59, 82, 139)', width: 2, points: { show: false }, spanGaps: true },
        ],
        legend: { show: true },
      },
      [[], [], []],
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: width(), height: 240 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(alignCurves(shadow, conventional));
  }, [shadow, conventional]);
  return <div className="loss-chart" ref={box} data-testid="compare-chart" data-shadow-steps={shadow.length} data-conventional-steps={conventional.length} />;
}
