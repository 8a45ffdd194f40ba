/**
 * The preference settings of a run (TrainSettings.stage / prefBeta / prefLoss / prefFtx, LLaMA-Factory's `stage`,
 * `pref_beta`, `pref_loss`, `pref_ftx`) turned into the objective's options, with their checks.
 */
import { checkPrefOptions, PREF_DEFAULTS, type PrefLossOptions } from './prefLoss';
import type { TrainSettings, TrainStage } from './types';

/** The stage of `s` ('sft' when absent). */
export function stageOf(s: Pick<TrainSettings, 'stage'>): TrainStage {
  return s.stage ?? 'sft';
}

/** The preference-loss options of `s`: LLaMA-Factory's defaults (β 0.1, sigmoid, ftx 0) for absent fields. */
export function prefOptionsOf(s: Pick<TrainSettings, 'prefBeta' | 'prefLoss' | 'prefFtx'>): PrefLossOptions {
  return { ...PREF_DEFAULTS, beta: s.prefBeta ?? PREF_DEFAULTS.beta, lossType: s.prefLoss ?? PREF_DEFAULTS.lossType, ftx: s.prefFtx ?? PREF_DEFAULTS.ftx };
}

/**
 * Checks the stage and, for any stage, the pref_* values given.
 * @throws Error naming the field ("Stage", "pref_beta", "pref_loss", "pref_ftx") and the allowed values
 */
export function validatePrefSettings(s: Pick<TrainSettings, 'stage' | 'prefBeta' | 'prefLoss' | 'prefFtx'>): void {
  if (s.stage !== undefined && s.stage !== 'sft' && s.stage !== 'dpo') throw new Error(`Stage: must be sft or dpo, got ${JSON.stringify(s.stage)}`);
  checkPrefOptions(prefOptionsOf(s));
}
