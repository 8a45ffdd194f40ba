/**
 * The stage of a run in the settings form: SFT (conversations) or DPO (chosen/rejected pairs; trained on Base =
 * Shadow-DPO), and for DPO the objective's settings with LLaMA-Factory's names: pref_beta (β, default 0.1),
 * pref_loss (sigmoid = DPO, hinge, ipo, orpo, simpo) and pref_ftx (weight of an SFT term on chosen, default 0).
 */
import type { TrainSettings } from '../worker/client';
import { NumberField } from './NumberField';

const LOSSES: readonly NonNullable<TrainSettings['prefLoss']>[] = ['sigmoid', 'hinge', 'ipo', 'orpo', 'simpo'];

/** `s` switched to stage dpo: LLaMA-Factory's pref_* defaults where unset (Evaluate every is kept: dpo evaluates its held-out pairs). */
function toDpo(s: TrainSettings): TrainSettings {
  return { ...s, stage: 'dpo', prefBeta: s.prefBeta ?? 0.1, prefLoss: s.prefLoss ?? 'sigmoid', prefFtx: s.prefFtx ?? 0 };
}

/** Props of {@link StageFields}. */
export interface StageFieldsProps {
  readonly settings: TrainSettings;
  readonly onChange: (s: TrainSettings) => void;
  readonly onValidity: (id: string, ok: boolean) => void;
  readonly disabled: boolean;
}

/** The fieldset. */
export function StageFields({ settings: s, onChange, onValidity, disabled }: StageFieldsProps) {
  const dpo = s.stage === 'dpo';
  const common = { onValidity, disabled };
  return (
    <fieldset>
      <legend>Stage</legend>
      <div className="field">
        <label htmlFor="stage">Stage</label>
        <select id="stage" value={dpo ? 'dpo' : 'sft'} disabled={disabled} onChange={(e) => onChange(e.currentTarget.value === 'dpo' ? toDpo(s) : { ...s, stage: 'sft' })}>
          <option value="sft">SFT (conversations)</option>
          <option value="dpo">DPO (preference pairs; on Base = Shadow-DPO)</option>
        </select>
      </div>
      {dpo && (
        <>
          <NumberField id="pref-beta" label="pref_beta" value={s.prefBeta ?? 0.1} onChange={(v) => onChange({ ...s, prefBeta: v })} min={0} hint="β of the implicit reward" {...common} />
          <div className="field">
            <label htmlFor="pref-loss">pref_loss</label>
            <select id="pref-loss" value={s.prefLoss ?? 'sigmoid'} disabled={disabled} onChange={(e) => onChange({ ...s, prefLoss: e.currentTarget.value as NonNullable<TrainSettings['prefLoss']> })}>
              {LOSSES.map((l) => (
                <option key={l} value={l}>{l === 'sigmoid' ? 'sigmoid (DPO)' : l}</option>
              ))}
            </select>
          </div>
          <NumberField id="pref-ftx" label="pref_ftx" value={s.prefFtx ?? 0} onChange={(v) => onChange({ ...s, prefFtx: v })} min={0} hint="SFT term on chosen" {...common} />
          <p className="muted">Batch size counts pairs (two sequences each); the reference is the model without the adapter.</p>
        </>
      )}
    </fieldset>
  );
}
