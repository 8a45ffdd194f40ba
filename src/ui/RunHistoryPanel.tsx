/**
 * Run history: every run of this browser, newest first, with its start time (local), status (complete, cancelled
 * at k/n, failed with the error, interrupted), final loss, held-out loss of Instruct + grafted LoRA (stage dpo: its
 * preference accuracy and margin), pair and settings with the stage; "Export this run" makes it the run the export
 * panel exports; Delete removes it and its adapter, with Undo until the next delete.
 */
import { useStudio } from '../store';
import { settingsSummary, statusLabel } from '../store/runHistory';
import { finalLoss } from '../store/trainingSlice';
import { formatLoss } from './format';

/** The history table. */
export function RunHistoryPanel() {
  const runs = useStudio((s) => s.runs);
  const exportRunId = useStudio((s) => s.exportRunId);
  const liveId = useStudio((s) => (s.run.status === 'running' ? s.run.runId : null));
  const select = useStudio((s) => s.selectExportRun);
  const remove = useStudio((s) => s.deleteRun);
  const error = useStudio((s) => s.historyError);
  const deleted = useStudio((s) => s.deletedRun);
  const undo = useStudio((s) => s.undoDelete);
  if (runs.length === 0 && !error && !deleted) return null;
  return (
    <div className="run-history">
      <h3>Run history</h3>
      {error && (
        <p className="errors" role="alert">
          {error}
        </p>
      )}
      {deleted && (
        <p className="row" data-testid="run-deleted">
          <span>
            Deleted the run of {new Date(deleted.record.startedAt).toLocaleString()} ({statusLabel(deleted.record, false)}){deleted.adapter ? ' and its adapter' : ''}.
          </span>
          <button type="button" onClick={() => void undo()}>
            Undo
          </button>
        </p>
      )}
      <table data-testid="run-history">
        <thead>
          <tr><th>Started</th><th>Status</th><th>Final loss</th><th>Instruct + graft (held-out)</th><th>Pair</th><th>Settings</th><th /></tr>
        </thead>
        <tbody>
          {runs.map((r) => {
            const f = finalLoss(r.points);
            const graft = r.evals.find((e) => e.model === 'instruct+graft')?.loss;
            const graftPref = r.prefEvals?.find((e) => e.model === 'instruct+graft');
            return (
              <tr key={r.id} data-run-id={r.id} data-status={r.status} className={r.id === exportRunId ? 'selected' : ''}>
                <td>{new Date(r.startedAt).toLocaleString()}</td>
                <td data-testid="run-status">{statusLabel(r, r.id === liveId)}</td>
                <td>{f ? `${formatLoss(f.smoothed)} (last ${formatLoss(f.last)})` : '—'}</td>
                <td>{graftPref ? `accuracy ${(100 * graftPref.metrics.accuracy).toFixed(1)}%, margin ${graftPref.metrics.margin.toFixed(3)}` : formatLoss(graft)}</td>
                <td>
                  {r.baseModel} → {r.instructModel}
                </td>
                <td className="muted" data-testid="run-settings">
                  {settingsSummary(r)}
                </td>
                <td>
                  <button type="button" disabled={!r.hasAdapter || r.id === exportRunId} onClick={() => select(r.id)} aria-label={`Export run ${r.id}`}>
                    {r.id === exportRunId ? 'Exporting this run' : 'Export this run'}
                  </button>
                  <button type="button" disabled={r.id === liveId} onClick={() => void remove(r.id)} aria-label={`Delete run ${r.id}`}>
                    Delete
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
