/**
 * Checks of the settings against the loaded data, which the engine's validateSettings (settings vs. the model) cannot
 * make: a micro-batch larger than the training set. Shared by the studio (memory plan) and the CLI, so both say
 * what to change (issue 20, fault 7: Batch size 100000 with 300 examples built a 1.15 TiB memory plan and suggested
 * "lower Batch size 100000 → 1").
 */
import type { TrainSettings } from '../engine/train/types';

/**
 * Why the settings do not suit `examples` training examples, naming the field and the largest useful value, or null.
 * @param examples training examples (conversations) of the ticked datasets; 0 = not known yet (nothing to check)
 */
export function dataSettingsProblem(s: Pick<TrainSettings, 'batchSize'>, examples: number): string | null {
  if (examples > 0 && s.batchSize > examples) {
    return `Batch size: ${s.batchSize} is more than the ${examples} training examples; set Batch size to at most ${examples} (raise Gradient accumulation for a larger effective batch).`;
  }
  return null;
}
