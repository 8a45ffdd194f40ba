/**
 * The schedule warnings the estimate panel shows (engine/train/scheduleWarnings.ts), with the Learning rate named
 * when it is the cause (issue 20, fault 7: a learning rate of 0 was answered with a warmup suggestion).
 */
import type { TrainSettings } from '../worker/client';

/**
 * The schedule warnings to show: with a learning rate ≤ 0 every step leaves the adapter unchanged whatever the warmup,
 * so that is said about the Learning rate instead of suggesting a warmup change.
 */
export function scheduleWarningsFor(s: Pick<TrainSettings, 'learningRate'>, warnings: readonly string[]): readonly string[] {
  if (s.learningRate > 0) return warnings;
  return [`Learning rate is ${s.learningRate}: every optimizer step would leave the adapter unchanged. Set Learning rate above 0 (the recipe's default is 1e-4; the demo's 1e-3).`];
}
