/**
 * The GPU memory plan of the current settings (engine/plan via the worker): bytes per category, the total against
 * the budget, the largest buffer against the binding limit, and what to lower when it does not fit.
 * Recomputed 300 ms after the last settings change.
 */
import { useEffect } from 'react';
import { useStudio } from '../store';
import { formatBytes } from './format';

/** The plan, shown before Start training. */
export function MemoryPlanPanel() {
  const settings = useStudio((s) => s.settings);
  const pairReady = useStudio((s) => s.session?.pairReady === true);
  const gpuReady = useStudio((s) => s.gpu.status === 'ready');
  const refreshPlan = useStudio((s) => s.refreshPlan);
  const { view, error } = useStudio((s) => s.memory);
  useEffect(() => {
    const t = setTimeout(() => void refreshPlan(), 300);
    return () => clearTimeout(t);
  }, [settings, pairReady, gpuReady, refreshPlan]);
  if (error) return <p className="errors">Memory plan: {error}</p>;
  if (!view) return null;
  const p = view.plan;
  return (
    <>
      {view.settingsError && (
        <p className="errors" role="alert" data-testid="settings-error">
          {view.settingsError}
        </p>
      )}
      <details className="memory-plan" data-testid="memory-plan" open={!p.fits}>
        <summary className={p.fits ? '' : 'errors'}>
          GPU memory plan: {formatBytes(p.totalBytes)} of the {formatBytes(p.budgetBytes)} budget{p.fits ? ' — fits' : ' — does not fit'}
        </summary>
        <table>
          <tbody>
            {p.lines.map((l) => (
              <tr key={l.key}>
                <td>{l.label}</td>
                <td className="num">{formatBytes(l.bytes)}</td>
                <td className="muted">{l.detail}</td>
              </tr>
            ))}
            <tr>
              <td>Largest buffer</td>
              <td className="num">{formatBytes(p.largest.bytes)}</td>
              <td className="muted">
                {p.largest.name}; binding limit {formatBytes(p.bindingLimit)}
              </td>
            </tr>
          </tbody>
        </table>
        {view.full && (
          <p className="muted" data-testid="full-plan">
            Full-parameter run: {view.full.trainableParams.toLocaleString('en-US')} trainable parameters × 16 bytes on the GPU; each checkpoint {formatBytes(view.full.checkpointBytes)} (12 bytes per parameter).
          </p>
        )}
        {p.problems.length > 0 && (
          <ul className="errors">
            {p.problems.map((x) => <li key={x}>{x}</li>)}
          </ul>
        )}
        {view.advice.length > 0 && (
          <p>
            Try: {view.advice.join('; ')}.
          </p>
        )}
      </details>
    </>
  );
}
