/**
 * The training settings form: the stage (SFT | DPO with pref_beta, pref_loss, pref_ftx: StageFields.tsx), the
 * finetuning type (LoRA | Full, Train embeddings: FinetuningFields.tsx; the LoRA fields are disabled under Full), LoRA (Rank,
 * Alpha, Dropout, rsLoRA, target modules) and optimisation (Learning rate, Epochs, Max steps, Batch size, Gradient
 * accumulation, Max length, Weight decay, Warmup ratio, Max grad norm, Evaluate every N steps (held-out loss; stage dpo: preference loss and metrics), Held-out
 * rows, Seed, Recompute activations).
 * Defaults come from the engine's defaultTrainSettings; every field writes straight to the store.
 */
import { useCallback, useEffect, useState } from 'react';
import { TARGET_MODULES, type LoraSettings, type TargetModule, type TrainSettings } from '../worker/client';
import { NumberField } from './NumberField';
import { StageFields } from './StageFields';
import { FinetuningFields } from './FinetuningFields';

/** Props of {@link SettingsForm}. */
export interface SettingsFormProps {
  readonly settings: TrainSettings;
  readonly onChange: (s: TrainSettings) => void;
  readonly onValidChange: (valid: boolean) => void;
  readonly disabled: boolean;
}

/** The form. */
export function SettingsForm({ settings: s, onChange, onValidChange, disabled }: SettingsFormProps) {
  const [invalid, setInvalid] = useState<ReadonlySet<string>>(new Set());
  const onValidity = useCallback(
    (id: string, ok: boolean) =>
      setInvalid((prev) => {
        if (prev.has(id) === !ok) return prev;
        const next = new Set(prev);
        if (ok) next.delete(id);
        else next.add(id);
        return next;
      }),
    [],
  );
  useEffect(() => onValidChange(invalid.size === 0), [invalid, onValidChange]);
  const top = <K extends keyof TrainSettings>(k: K) => (v: TrainSettings[K]) => onChange({ ...s, [k]: v });
  const lora = <K extends keyof LoraSettings>(k: K) => (v: LoraSettings[K]) => onChange({ ...s, lora: { ...s.lora, [k]: v } });
  const toggle = (m: TargetModule, on: boolean): void => {
    const set = new Set(s.lora.targetModules);
    if (on) set.add(m);
    else set.delete(m);
    lora('targetModules')(TARGET_MODULES.filter((t) => set.has(t)));
  };
  const common = { onValidity, disabled };
  const full = s.finetuningType === 'full';
  return (
    <form className="settings" onSubmit={(e) => e.preventDefault()} aria-label="Training settings" data-invalid={invalid.size > 0}>
      <StageFields settings={s} onChange={onChange} {...common} />
      <FinetuningFields settings={s} onChange={onChange} disabled={disabled} />
      <fieldset disabled={disabled || full} data-testid="lora-fields">
        <legend>LoRA</legend>
        {full && <p className="muted">Not used by a full-parameter run (Finetuning type Full trains the weights themselves).</p>}
        <NumberField id="rank" label="Rank" value={s.lora.r} onChange={lora('r')} integer min={1} hint="r" {...common} />
        <NumberField id="alpha" label="Alpha" value={s.lora.alpha} onChange={lora('alpha')} min={0} hint="scaling α/r (α/√r with rsLoRA)" {...common} />
        <NumberField id="dropout" label="Dropout" value={s.lora.dropout} onChange={lora('dropout')} min={0} max={0.99} hint="on the LoRA input" {...common} />
        <div className="field checkbox">
          <label>
            <input type="checkbox" checked={s.lora.useRslora} disabled={disabled} onChange={(e) => lora('useRslora')(e.currentTarget.checked)} /> use rsLoRA
          </label>
        </div>
        <div className="targets" role="group" aria-label="Target modules">
          <span className="muted">Target modules</span>
          {TARGET_MODULES.map((m) => (
            <label key={m} className="target">
              <input type="checkbox" checked={s.lora.targetModules.includes(m)} disabled={disabled} onChange={(e) => toggle(m, e.currentTarget.checked)} /> {m}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Optimisation</legend>
        <NumberField id="lr" label="Learning rate" value={s.learningRate} onChange={top('learningRate')} above={0} max={1} hint="peak, cosine schedule" {...common} />
        <NumberField id="epochs" label="Epochs" value={s.epochs} onChange={top('epochs')} integer min={1} {...common} />
        <NumberField id="max-steps" label="Max steps" value={s.maxSteps} onChange={top('maxSteps')} integer min={0} hint="0 = run all epochs" {...common} />
        <NumberField id="batch" label="Batch size" value={s.batchSize} onChange={top('batchSize')} integer min={1} {...common} />
        <NumberField id="accum" label="Gradient accumulation" value={s.gradAccum} onChange={top('gradAccum')} integer min={1} hint="micro-batches per step" {...common} />
        <NumberField id="max-length" label="Max length" value={s.maxLength} onChange={top('maxLength')} integer min={2} hint="tokens per example" {...common} />
        <NumberField id="wd" label="Weight decay" value={s.weightDecay} onChange={top('weightDecay')} min={0} hint="AdamW, decoupled" {...common} />
        <NumberField id="warmup" label="Warmup ratio" value={s.warmupRatio} onChange={top('warmupRatio')} min={0} max={1} {...common} />
        <NumberField id="clip" label="Max grad norm" value={s.maxGradNorm} onChange={top('maxGradNorm')} min={0} hint="0 = no clipping" {...common} />
        <NumberField
          id="eval-steps"
          label="Evaluate every"
          value={s.evalSteps ?? 0}
          onChange={(v) => {
            // 0 is stored as absent, so settings (and checkpoints) of runs without it compare equal.
            const { evalSteps: _old, ...rest } = s;
            onChange(v > 0 ? { ...s, evalSteps: v } : rest);
          }}
          integer
          min={0}
          hint={s.stage === 'dpo' ? 'steps; held-out preference loss, accuracy and margin of Base + LoRA (LLaMA-Factory eval_steps); 0 = before and after only' : 'steps; held-out loss of Base + LoRA (LLaMA-Factory eval_steps); 0 = before and after only'}
          {...common}
        />
        <NumberField
          id="heldout-rows"
          label="Held-out rows"
          value={s.heldoutRows ?? 0}
          onChange={(v) => {
            const { heldoutRows: _old, ...rest } = s;
            onChange(v > 0 ? { ...s, heldoutRows: v } : rest);
          }}
          integer
          min={0}
          hint="first N rows of the held-out split that are evaluated (LLaMA-Factory max_samples); 0 = automatic, evaluations within a quarter of the training work"
          {...common}
        />
        <NumberField id="seed" label="Seed" value={s.seed} onChange={top('seed')} integer min={0} {...common} />
        <div className="field checkbox">
          <label title="Gradient checkpointing: keep each layer's input only and re-run its forward in the backward (less memory, ~1 extra forward per step)">
            <input type="checkbox" checked={s.recompute === true} disabled={disabled} onChange={(e) => top('recompute')(e.currentTarget.checked)} /> Recompute activations
          </label>
        </div>
      </fieldset>
    </form>
  );
}
