/**
 * "Held-out rows": how many rows of the held-out split a training run evaluates (like LLaMA-Factory's `max_samples`,
 * for the held-out split): the first N rows in file order (rows skipped by the parser or the labelling do not
 * count). TrainSettings.heldoutRows absent or 0 = automatic: as many rows as keep every held-out pass of the run
 * (Base before, Base + LoRA after, Instruct, Instruct + graft, and those during training) within
 * {@link AUTO_EVAL_SHARE} of the training's required FLOPs — a FLOP ratio, so the share is the same on any adapter
 * (the estimate turns both into time at one measured speed) — but never fewer than {@link AUTO_MIN_ROWS} rows (all
 * when the split has fewer). The choice is a pure function of the tokenised data and the settings, so the estimate,
 * the run and a resumed run (same settings) pick the same rows.
 */
import { forwardFlops } from './runEstimate';
import { requiredStepFlops } from '../engine/plan/flops';
import type { TrainSettings } from '../engine/train/types';
import type { ModelConfig } from '../io/config/types';
import type { TokenizedExample } from '../io/dataset/types';

/** Held-out passes may cost at most this fraction of the training FLOPs when the rows are chosen automatically. */
export const AUTO_EVAL_SHARE = 0.25;
/** The automatic choice keeps at least this many rows (a loss over fewer is mostly noise). */
export const AUTO_MIN_ROWS = 8;

/** The held-out rows a run evaluates. */
export interface HeldoutChoice {
  /** rows evaluated (the first `used` of the split) */
  readonly used: number;
  /** rows of the split with assistant tokens (what "all" would be) */
  readonly available: number;
  /** true when chosen automatically (settings.heldoutRows absent or 0) */
  readonly auto: boolean;
}

/**
 * The rows of `heldout` a run of `settings` evaluates.
 * @param trainFlops required FLOPs of all training steps (runEstimate.ts)
 * @param passes held-out passes of the run (4, or 2 without the Instruct, plus evaluations during training)
 */
export function chooseHeldoutRows(cfg: ModelConfig, settings: TrainSettings, heldout: readonly TokenizedExample[], trainFlops: number, passes: number): HeldoutChoice {
  const available = heldout.length;
  const n = settings.heldoutRows ?? 0;
  if (n > 0) return { used: Math.min(n, available), available, auto: false };
  const budget = AUTO_EVAL_SHARE * trainFlops;
  let used = 0;
  let flops = 0;
  for (const e of heldout) {
    // The mean of a pass with and without the LoRA branches, as runEstimate.ts counts a pass.
    const T = Math.min(e.inputIds.length, settings.maxLength);
    const row = (forwardFlops(requiredStepFlops(cfg, settings.lora, 1, T)) + forwardFlops(requiredStepFlops(cfg, { ...settings.lora, targetModules: [] }, 1, T))) / 2;
    if (used >= AUTO_MIN_ROWS && flops + passes * row > budget) break;
    flops += passes * row;
    used++;
  }
  return { used, available, auto: true };
}
