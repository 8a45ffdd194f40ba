/**
 * Run history: every run of this browser, newest first, with its start time (local), status (complete, cancelled
 * at k/n, failed with the error, interrupted), final loss, held-out loss of Instruct + grafted LoRA (stage dpo: its
 * preference accuracy and margin), pair and settings with the stage; "Export this run" makes it the run the export
 * panel exports; Delete removes it and its adapter, with Undo until the next delete.
 * A comparison (kind "compare") shows both runs' final training losses and the held-out loss of Instruct + Shadow-FT
 * graft, and downloads as one zip (compare.json + both adapters, as the CLI writes it) once it is complete.
 */
import { useState } from 'react';
import { useStudio } from '../store';
import { settingsSummary, statusLabel, type RunRecord } from '../store/runHistory';
import { finalLoss } from '../store/trainingSlice';
import { compareRecordZip, compareZipName } from './compare/compareRecordZip';
import { saveBlob } from './download';
import { formatLoss } from './format';

/** "Download comparison" of a compare record; disabled with the reason until it is complete with both adapters. */
function CompareDownload({ r }: { r: RunRecord }) {
  const adapters = useStudio((s) => s.compareAdapters);
  const [error, setError] = useState<string | null>(null);
  const view = r.compare?.view ?? null;
  const why = !view ? 'the comparison has not completed' : !r.compare?.hasAdapters ? 'its adapters are not stored' : null;
  const download = async (): Promise<void> => {
    try {
      const files = await adapters(r.id);
      if (!view || !files) throw new Error('its adapters are not in this browser\'s storage any more');
      saveBlob(await compareRecordZip(view, files), compareZipName(r.startedAt));
      setError(null);
    } catch (e) {
      setError(`Could not download the comparison: ${(e as Error).message}`);
    }
  };
  return (
    <>
      <button type="button" disabled={why !== null} onClick={() => void download()} aria-label={`Download comparison ${r.id}`}>
        Download comparison
      </button>
      {why && <small className="muted"> ({why})</small>}
      {error && <small className="field-error">{error}</small>}
    </>
  );
}

/** The history table. */
export function RunHistoryPanel() {
  const runs = useStudio((s) => s.runs);
  const exportRunId = useStudio((s) => s.exportRunId);
  const liveTrain = useStudio((s) => (s.run.status === 'running' ? s.run.runId : null));
  const liveCompare = useStudio((s) => (s.compare.status === 'running' ? (s.compare.runId ?? null) : null));
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
            const liveId = r.kind === 'compare' ? liveCompare : liveTrain;
            const f = finalLoss(r.points);
            const cmp = r.kind === 'compare' ? (r.compare?.view?.result ?? null) : null;
            const graft = cmp ? cmp.heldout_loss.instruct_shadow : r.evals.find((e) => e.model === 'instruct+graft')?.loss;
            const graftPref = r.prefEvals?.find((e) => e.model === 'instruct+graft');
            const loss = cmp
              ? `Shadow-FT ${formatLoss(cmp.final_train_loss.shadow ?? undefined)} · conventional ${formatLoss(cmp.final_train_loss.conventional ?? undefined)}`
              : f ? `${formatLoss(f.smoothed)} (last ${formatLoss(f.last)})` : '—';
            return (
              <tr key={r.id} data-run-id={r.id} data-status={r.status} data-kind={r.kind ?? 'train'} className={r.id === exportRunId ? 'selected' : ''}>
                <td>{new Date(r.startedAt).toLocaleString()}</td>
                <td data-testid="run-status">{statusLabel(r, r.id === liveId)}</td>
                <td>{loss}</td>
                <td>{graftPref ? `accuracy ${(100 * graftPref.metrics.accuracy).toFixed(1)}%, margin ${graftPref.metrics.margin.toFixed(3)}` : formatLoss(graft ?? undefined)}</td>
                <td>
                  {r.baseModel} → {r.instructModel}
                </td>
                <td className="muted" data-testid="run-settings">
                  {settingsSummary(r)}
                </td>
                <td>
                  {r.kind === 'compare' ? (
                    <CompareDownload r={r} />
                  ) : (
                    <button type="button" disabled={!r.hasAdapter || r.id === exportRunId} onClick={() => select(r.id)} aria-label={`Export run ${r.id}`}>
                      {r.id === exportRunId ? 'Exporting this run' : 'Export this run'}
                    </button>
                  )}
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
