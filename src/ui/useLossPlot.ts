/**
 * A uPlot line chart of values per optimizer step (LossChart.tsx, compare/CompareChart.tsx): created once in the
 * returned box, 240 px high and as wide as the box (at least 280 px, following resizes), its data replaced whenever
 * `data` changes.
 */
import { useEffect, useRef, type RefObject } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Step ticks that stay integers on long runs. */
const STEP_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];

/**
 * @param yLabel label of the y axis
 * @param series the lines after the step axis (uPlot series options)
 * @param data [steps, ...one array per series] (uPlot.AlignedData)
 * @param extra more scales and axes (e.g. a right-hand learning-rate axis), fixed per component
 * @returns the ref to put on the chart's container element
 */
export function useLossPlot(yLabel: string, series: uPlot.Series[], data: uPlot.AlignedData, extra?: { readonly scales?: uPlot.Scales; readonly axes?: uPlot.Axis[] }): RefObject<HTMLDivElement | null> {
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
        scales: { x: { time: false }, ...extra?.scales },
        axes: [{ label: 'step', incrs: STEP_INCRS }, { label: yLabel }, ...(extra?.axes ?? [])],
        series: [{ label: 'step' }, ...series],
        legend: { show: true },
      },
      series.map(() => []).concat([[]]) as unknown as uPlot.AlignedData,
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
    // The chart is built once; its series and labels are fixed per component.
  }, []);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return box;
}
