/** The comparison's two loss curves as uPlot data on one step axis (pure). */
import type uPlot from 'uplot';
import type { CurvePoint } from '../../store/compareSlice';

/** Both curves on one x axis (steps 1..max); a step one run has not reached yet is null. */
export function alignCurves(a: readonly CurvePoint[], b: readonly CurvePoint[]): uPlot.AlignedData {
  const steps = [...new Set([...a, ...b].map((p) => p.step))].sort((x, y) => x - y);
  const ya = new Map(a.map((p) => [p.step, p.loss]));
  const yb = new Map(b.map((p) => [p.step, p.loss]));
  return [steps, steps.map((s) => ya.get(s) ?? null), steps.map((s) => yb.get(s) ?? null)];
}
