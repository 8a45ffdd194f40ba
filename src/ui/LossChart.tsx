/**
 * Training loss per optimizer step with uPlot: the raw loss and its EMA (ema.ts, w = 0.9).
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { StepPoint } from '../store';
import { emaSmooth } from '../store/ema';

function data(points: readonly StepPoint[]): uPlot.AlignedData {
  const loss = points.map((p) => p.loss);
  return [points.map((p) => p.step), loss, emaSmooth(loss)];
}

/** The loss chart; re-renders its data when `points` changes. */
export function LossChart({ points }: { points: readonly StepPoint[] }) {
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
        axes: [{ label: 'step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] }, { label: 'loss' }],
        series: [
          { label: 'step' },
          { label: 'loss', stroke: 'rgba(59, 82, 139, 0.45)', width: 1, points: { show: false } },
          { label: 'EMA', stroke: 'rgb(214, 80, 40)', width: 2, points: { show: false } },
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
    plot.current?.setData(data(points));
  }, [points]);

  return <div className="loss-chart" ref={box} data-testid="loss-chart" />;
}
