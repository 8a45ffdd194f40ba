/**
 * Exports of a full-parameter run (finetuning_type full) in the export section: the merged Instruct
 * W_I + (W_B′ − W_B) (Instruct dtype, one rounding) and the tuned Base W_B′ (F32) as zip downloads, made in the worker
 * from the W_B′ it holds (app/fullExports.ts). The PEFT adapter download is disabled with the reason (a full run has
 * no adapter). The tuned weights live in this tab only: after a reload (or for an older full run) the buttons are
 * disabled with that reason; the run history keeps the run's settings and results, not its weights.
 */
import { useStudio } from '../store';
import { statusLabel } from '../store/runHistory';
import { saveBlob } from './download';

/** The section; renders nothing when no full-parameter run is in the history. */
export function FullExportPanel() {
  const runs = useStudio((s) => s.runs);
  const fullRunId = useStudio((s) => s.fullRunId);
  const session = useStudio((s) => s.session);
  const exporting = useStudio((s) => s.exporting);
  const exportTunedBase = useStudio((s) => s.exportTunedBase);
  const exportFullMerged = useStudio((s) => s.exportFullMerged);
  const held = runs.find((r) => r.id === fullRunId) ?? null;
  const newestFull = runs.find((r) => r.settings.finetuningType === 'full' && r.status !== 'running') ?? null;
  const r = held ?? newestFull;
  if (!r) return null;
  const busy = exporting.kind !== null;
  const pairLoaded = session?.pairReady === true && session.base?.name === r.baseModel && session.instruct?.name === r.instructModel;
  const why = !held
    ? 'the tuned weights of a full-parameter run are kept in the tab that trained it only (not in browser storage: 4 bytes per parameter); train it again to export'
    : !pairLoaded
      ? `load ${r.baseModel} and ${r.instructModel} again to export`
      : null;
  return (
    <div data-testid="full-exports">
      <p className="muted" data-testid="full-export-summary">
        Full-parameter run started {new Date(r.startedAt).toLocaleString()} ({statusLabel(r, false)}): every weight of <b>{r.baseModel}</b> trained for {r.stepsDone} steps
        {r.settings.trainEmbeddings === false ? ' (embeddings frozen)' : ''}; Shadow-FT graft onto <b>{r.instructModel}</b>: W_I + (W_B′ − W_B).
      </p>
      <div className="row">
        <button type="button" className="primary" data-testid="download-full-merged" disabled={busy || why !== null} title={why ?? ''} onClick={() => void exportFullMerged().then((z) => z && saveBlob(z.blob, z.fileName))}>
          Download merged Instruct (full)
        </button>
        <button type="button" data-testid="download-tuned-base" disabled={busy || why !== null} title={why ?? ''} onClick={() => void exportTunedBase().then((z) => z && saveBlob(z.blob, z.fileName))}>
          Download tuned Base
        </button>
        <button type="button" disabled title="a full-parameter run has no LoRA adapter">
          Download adapter
        </button>
      </div>
      {why && <p className="muted" data-testid="full-export-why">Full-parameter exports: {why}.</p>}
      <p className="muted">PEFT adapter: none — a full-parameter run changes the weights themselves (the merged Instruct is its graft).</p>
    </div>
  );
}
