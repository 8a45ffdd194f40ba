/**
 * Warnings about the learning-rate schedule before a run starts (schedule.ts: HF get_cosine_schedule_with_warmup,
 * warmup = ceil(total · warmup_ratio), the k-th step (0-based) at lr · lambda(k), so with warmup step 1 trains at
 * lr 0). A 1-step run with any warmup therefore trains nothing; a run no longer than its warmup never reaches the
 * peak learning rate.
 */
import { cosineWithWarmup, warmupSteps } from './schedule';

/** The schedule of a run as the UI shows it before Start. */
export interface ScheduleCheck {
  readonly totalSteps: number;
  readonly warmupSteps: number;
  /** Optimizer steps whose learning rate is exactly 0. */
  readonly zeroLrSteps: number;
  /** Human-readable warnings naming the fields to change (empty when the schedule is sound). */
  readonly warnings: readonly string[];
}

/**
 * Checks the schedule of a run of `totalSteps` optimizer steps.
 * @param peakLr the Learning rate setting (a peak of 0 makes every step 0)
 */
export function checkSchedule(totalSteps: number, warmupRatio: number, peakLr: number): ScheduleCheck {
  const warm = warmupSteps(totalSteps, warmupRatio);
  let zero = 0;
  for (let k = 0; k < totalSteps; k++) if (peakLr * cosineWithWarmup(k, totalSteps, warm) === 0) zero++;
  const warnings: string[] = [];
  if (totalSteps > 0 && zero === totalSteps) {
    warnings.push(`Every one of the ${totalSteps} optimizer step${totalSteps === 1 ? '' : 's'} would train at learning rate 0 (warmup ${warm} step${warm === 1 ? '' : 's'}; the first warmup step is always at 0): the adapter would not change. Lower Warmup ratio to 0 or raise Max steps.`);
  } else if (warm > 0 && totalSteps <= warm) {
    warnings.push(`Max steps (${totalSteps}) is not longer than the warmup (${warm} steps): the learning rate never reaches its peak. Lower Warmup ratio or raise Max steps.`);
  }
  return { totalSteps, warmupSteps: warm, zeroLrSteps: zero, warnings };
}
