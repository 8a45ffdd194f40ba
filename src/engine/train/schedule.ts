/**
 * Learning-rate schedule: linear warmup then cosine decay to 0, exactly HF transformers'
 * get_cosine_schedule_with_warmup (num_cycles = 0.5) with warmup steps = ceil(total · warmup_ratio)
 * (TrainingArguments.get_warmup_steps). The k-th optimizer step (0-based) uses lr · lambda(k), so with warmup the
 * first step's learning rate is 0, as in HF.
 */

/** Warmup steps for a ratio: ceil(total · ratio). */
export function warmupSteps(totalSteps: number, warmupRatio: number): number {
  return Math.ceil(totalSteps * warmupRatio);
}

/**
 * Multiplier of the peak learning rate at 0-based optimizer step `step`.
 * @returns a value in [0, 1]
 */
export function cosineWithWarmup(step: number, totalSteps: number, warmup: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, totalSteps - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress)));
}
