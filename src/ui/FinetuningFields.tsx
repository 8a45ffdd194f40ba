/**
 * The finetuning type of a run in the settings form (LLaMA-Factory `finetuning_type`): LoRA (an adapter on the frozen
 * Base) or Full (every weight of the Base in f32 with AdamW, 16 bytes per parameter on the GPU; Shadow-FT's graft is
 * then W_I + (W_B′ − W_B)), and for Full the "Train embeddings" switch (embed_tokens and a tied lm_head; off keeps them
 * frozen in the file dtype) with what it saves, read from the full-parameter memory plan (plan/fullMemory.ts).
 */
import { useStudio } from '../store';
import type { TrainSettings } from '../worker/client';
import { formatBytes } from './format';
import { withFinetuningType } from './finetuningType';

/** Props of {@link FinetuningFields}. */
export interface FinetuningFieldsProps {
  readonly settings: TrainSettings;
  readonly onChange: (s: TrainSettings) => void;
  readonly disabled: boolean;
}

/** The fieldset. */
export function FinetuningFields({ settings: s, onChange, disabled }: FinetuningFieldsProps) {
  const full = s.finetuningType === 'full';
  const plan = useStudio((st) => st.memory.view?.full);
  const dpo = s.stage === 'dpo';
  return (
    <fieldset>
      <legend>Finetuning type</legend>
      <div className="field">
        <label htmlFor="finetuning-type">Finetuning type</label>
        <select id="finetuning-type" value={full ? 'full' : 'lora'} disabled={disabled || (dpo && !full)} onChange={(e) => onChange(withFinetuningType(s, e.currentTarget.value === 'full' ? 'full' : 'lora'))}>
          <option value="lora">LoRA (adapter on the frozen Base)</option>
          <option value="full">Full (every weight of the Base)</option>
        </select>
        {dpo && !full && <span className="muted"> stage DPO trains LoRA only</span>}
      </div>
      {full && (
        <>
          <div className="field checkbox">
            <label>
              <input type="checkbox" data-testid="train-embeddings" checked={s.trainEmbeddings ?? true} disabled={disabled} onChange={(e) => onChange({ ...s, trainEmbeddings: e.currentTarget.checked })} /> Train embeddings
            </label>
            <span className="muted" data-testid="train-embeddings-saving">
              {' '}
              embed_tokens{plan ? `; off saves ${formatBytes(plan.embedSavingBytes)} of GPU memory (no f32 copy, gradient or AdamW moments)` : ''}
            </span>
          </div>
          <p className="muted" data-testid="full-summary">
            Trains every weight of the Base in f32 with AdamW (16 bytes per parameter on the GPU)
            {plan ? `: ${plan.trainableParams.toLocaleString('en-US')} parameters; each checkpoint ${formatBytes(plan.checkpointBytes)} (12 bytes per parameter: weights + AdamW m and v)` : ''}. The graft is
            W_I + (W_B′ − W_B); the exports are the tuned Base and the merged Instruct.
          </p>
        </>
      )}
    </fieldset>
  );
}
