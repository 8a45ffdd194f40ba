/**
 * Export the graft: the PEFT adapter for the Instruct model (zip), the merged Instruct model W_I + s·B·A (zip), and,
 * where the File System Access API exists, "Save to folder…" which streams both into a chosen directory. The panel
 * names the run it exports (any run of the history with an adapter; chosen here or in the run history).
 */
import { statusLabel } from '../store/runHistory';
import { useStudio } from '../store';
import { saveBlob } from './download';
import { formatBytes, formatPercent } from './format';
import { LoadAdapterControl } from './LoadAdapterControl';
import { FullExportPanel } from './FullExportPanel';

/** window.showDirectoryPicker (Chromium); absent from TypeScript's DOM lib. */
type DirectoryPicker = (options?: { mode?: 'read' | 'readwrite'; id?: string }) => Promise<FileSystemDirectoryHandle>;

function directoryPicker(): DirectoryPicker | null {
  const w = window as Window & { showDirectoryPicker?: DirectoryPicker };
  return typeof w.showDirectoryPicker === 'function' ? w.showDirectoryPicker.bind(window) : null;
}

/** The export section. */
export function ExportPanel() {
  const runs = useStudio((s) => s.runs);
  const exportRunId = useStudio((s) => s.exportRunId);
  const select = useStudio((s) => s.selectExportRun);
  // Comparisons download from their run-history row (compare.json + both adapters), not here.
  const lastRun = runs.find((r) => r.id === exportRunId && r.hasAdapter && r.kind !== 'compare') ?? null;
  const exportable = runs.filter((r) => r.hasAdapter && r.kind !== 'compare');
  const session = useStudio((s) => s.session);
  const exporting = useStudio((s) => s.exporting);
  const exportAdapter = useStudio((s) => s.exportAdapter);
  const exportMerged = useStudio((s) => s.exportMerged);
  const saveToFolder = useStudio((s) => s.saveToFolder);
  const cancelExport = useStudio((s) => s.cancelExport);
  const adapterBaseModel = useStudio((s) => s.adapterBaseModel);
  const setAdapterBaseModel = useStudio((s) => s.setAdapterBaseModel);
  const busy = exporting.kind !== null;
  const picker = directoryPicker();
  const instructLoaded = session?.pairReady === true && session.instruct?.name === lastRun?.instructModel;
  if (!lastRun)
    return (
      <div>
        <FullExportPanel />
        <p className="muted">Train an adapter first; its exports appear here.</p>
        <LoadAdapterControl />
        {exporting.error && (
          <p className="errors" role="alert">
            {exporting.error}
          </p>
        )}
        {exporting.message && <p className="muted" data-testid="export-message">{exporting.message}</p>}
      </div>
    );
  const o = lastRun;
  const p = exporting.progress;
  return (
    <div>
      <FullExportPanel />
      <label className="field">
        Run to export{' '}
        <select data-testid="export-run" value={o.id} disabled={busy} onChange={(e) => select(e.currentTarget.value)}>
          {exportable.map((r) => (
            <option key={r.id} value={r.id}>
              {new Date(r.startedAt).toLocaleString()} · {statusLabel(r, false)}
            </option>
          ))}
        </select>
      </label>
      <p className="muted" data-testid="export-run-summary">
        Exporting the run started {new Date(o.startedAt).toLocaleString()} ({statusLabel(o, false)}): adapter trained on <b>{o.baseModel}</b> for <b>{o.instructModel}</b>: rank{' '}
        {o.settings.lora.r}, α {o.settings.lora.alpha}
        {o.settings.lora.useRslora ? ' (rsLoRA)' : ''}, {o.settings.lora.targetModules.join(', ')}, {o.stepsDone} steps.
      </p>
      <label className="field">
        Instruct model id for the adapter (base_model_name_or_path){' '}
        <input type="text" data-testid="adapter-base-model" value={adapterBaseModel} placeholder={`e.g. Qwen/Qwen3-8B or /models/${o.instructModel}`} disabled={busy} onChange={(e) => setAdapterBaseModel(e.currentTarget.value)} />
      </label>
      <p className="muted">
        PEFT's AutoPeftModelForCausalLM loads this model before the adapter. Left empty, the adapter names the Hub id found in the Instruct's config.json, else the
        folder name <b>{o.instructModel}</b>, which PEFT finds only when run from the folder that contains it.
      </p>
      <div className="row">
        <button type="button" className="primary" disabled={busy} onClick={() => void exportAdapter().then((z) => z && saveBlob(z.blob, z.fileName))}>
          Download adapter
        </button>
        <button type="button" disabled={busy || !instructLoaded} onClick={() => void exportMerged().then((z) => z && saveBlob(z.blob, z.fileName))}>
          Download merged model
        </button>
        {picker && (
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void picker({ mode: 'readwrite', id: 'shadowft-export' }).then(
                (dir) => saveToFolder(dir),
                () => undefined, // the user closed the picker
              )
            }
          >
            Save to folder…
          </button>
        )}
        {busy && (
          <button type="button" onClick={cancelExport}>
            Cancel
          </button>
        )}
      </div>
      <LoadAdapterControl />
      {!instructLoaded && <p className="muted">Load {o.instructModel} (with its Base) again to export the merged model.</p>}
      {busy && (
        <div className="progress-line" data-testid="export-progress">
          <progress value={p?.bytesDone ?? 0} max={p?.bytesTotal || 1} />
          <span className="muted">{p ? `${p.file}: ${formatPercent(p.bytesDone, p.bytesTotal)} of ${formatBytes(p.bytesTotal)}` : `preparing the ${exporting.kind} export…`}</span>
        </div>
      )}
      {exporting.message && <p className="muted" data-testid="export-message">{exporting.message}</p>}
      {exporting.error && (
        <p className="errors" role="alert">
          {exporting.error}
        </p>
      )}
    </div>
  );
}
