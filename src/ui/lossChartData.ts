/** The loss chart's data (pure, testable without React or uPlot). */
import type { EvalPoint, StepPoint } from '../store';
import { emaSmooth } from '../store/ema';

/**
 * [steps, training loss, its EMA (w = 0.9), held-out loss, learning rate] aligned on the optimizer steps; the held-out
 * column is null except at the steps evaluated during training (TrainSettings.evalSteps) and, once known, at the last
 * step with the after-training loss of Base + LoRA (the same model: the adapter after that step).
 */
export function lossChartData(points: readonly StepPoint[], evalPoints: readonly EvalPoint[], after: number | null): [number[], number[], number[], (number | null)[], number[]] {
  const steps = points.map((p) => p.step);
  const loss = points.map((p) => p.loss);
  const byStep = new Map(evalPoints.map((e) => [e.step, e.loss]));
  const last = steps.at(-1);
  if (after !== null && last !== undefined && !byStep.has(last)) byStep.set(last, after);
  return [steps, loss, emaSmooth(loss), steps.map((s) => byStep.get(s) ?? null), points.map((p) => p.learningRate)];
}
