/**
 * Try it's choice of LoRA on Base: any run of the run history with a stored adapter for the loaded pair (also after
 * a reload), or this session's last training / comparison. Disabled with the reason while Try it runs.
 */
import { useStudio } from '../../store';
import { settingsSummary, statusLabel } from '../../store/runHistory';
import { adapterRunsFor } from '../../store/tryAdapter';

/** The picker (nothing when the history holds no adapter for the pair). */
export function TryAdapterPicker({ disabled }: { disabled: boolean }) {
  const runs = useStudio((s) => s.runs);
  const session = useStudio((s) => s.session);
  const chosen = useStudio((s) => s.tryIt.adapterRunId);
  const choose = useStudio((s) => s.setTryAdapterRun);
  const options = adapterRunsFor(runs, session);
  if (options.length === 0) return null;
  return (
    <div className="field">
      <label htmlFor="try-adapter">LoRA on Base (Base + LoRA, Instruct + Shadow-FT graft)</label>
      <select id="try-adapter" value={chosen ?? ''} disabled={disabled} onChange={(e) => e.currentTarget.value && void choose(e.currentTarget.value)}>
        {chosen === null && <option value="">this session's last training or comparison</option>}
        {options.map((r) => (
          <option key={r.id} value={r.id}>
            {r.kind === 'compare' ? 'comparison' : 'run'} of {new Date(r.startedAt).toLocaleString()} — {statusLabel(r, false)} — {settingsSummary(r)}
          </option>
        ))}
      </select>
      {disabled && <small className="muted">Wait for the answers to finish to change the LoRA.</small>}
    </div>
  );
}
