/** The settings form's finetuning-type switch as a pure function (FinetuningFields.tsx; tested without React). */
import type { TrainSettings } from '../worker/client';

/**
 * `s` with finetuningType `t` (LLaMA-Factory finetuning_type): 'lora' is stored as absent (and trainEmbeddings
 * dropped), so LoRA settings compare equal to older ones (checkpoints, the speed warm-up key); 'full' keeps
 * trainEmbeddings (default true).
 */
export function withFinetuningType(s: TrainSettings, t: 'lora' | 'full'): TrainSettings {
  const { finetuningType: _t, trainEmbeddings: _e, ...rest } = s;
  return t === 'full' ? { ...rest, finetuningType: 'full', trainEmbeddings: s.trainEmbeddings ?? true } : rest;
}
