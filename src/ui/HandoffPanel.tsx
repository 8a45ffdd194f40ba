/**
 * "Export for a cluster": the current settings and data as a LLaMA-Factory run (train_shadow_base.yaml,
 * train_conventional_instruct.yaml, data/ in ShareGPT layout + dataset_info.json, graft_mergekit.yaml, README.md with
 * the commands), downloaded as one zip. The model paths the YAMLs use default to the folder names, which the panel
 * and the export's README say (the browser never sees a dropped folder's full path).
 */
import { useState } from 'react';
import { useStudio } from '../store';
import { saveBlob } from './download';

/** The cluster export, shown in the training section. */
export function HandoffPanel() {
  const session = useStudio((s) => s.session);
  const settings = useStudio((s) => s.settings);
  const state = useStudio((s) => s.handoff);
  const exportHandoff = useStudio((s) => s.exportHandoff);
  const [finetuningType, setType] = useState<'lora' | 'full'>('lora');
  const [basePath, setBasePath] = useState('');
  const [instructPath, setInstructPath] = useState('');
  const ready = session?.pairReady === true && session.trainExamples > 0 && settings !== null;
  return (
    <details className="handoff" data-testid="handoff">
      <summary>Export for a cluster (LLaMA-Factory + mergekit)</summary>
      <p className="muted">
        The same recipe for a multi-GPU run: LLaMA-Factory YAMLs for the Shadow-FT run (Base) and the conventional run (Instruct), your data in ShareGPT layout, a
        mergekit graft config and a README with the commands. Bring the tuned Base back to “Graft a tuned Base” below.
      </p>
      <div className="row">
        <label>
          Fine-tuning{' '}
          <select value={finetuningType} onChange={(e) => setType(e.currentTarget.value === 'full' ? 'full' : 'lora')} aria-label="Fine-tuning type">
            <option value="lora">LoRA (these settings)</option>
            <option value="full">full parameters</option>
          </select>
        </label>
        <label>
          Base path on the cluster <input type="text" value={basePath} placeholder={session?.base?.name ?? ''} onChange={(e) => setBasePath(e.currentTarget.value)} />
        </label>
        <label>
          Instruct path <input type="text" value={instructPath} placeholder={session?.instruct?.name ?? ''} onChange={(e) => setInstructPath(e.currentTarget.value)} />
        </label>
      </div>
      {(!basePath.trim() || !instructPath.trim()) && (
        <p className="muted" data-testid="handoff-paths-note">
          A path left empty is written as the folder name alone ({session?.base?.name ?? 'Base'}, {session?.instruct?.name ?? 'Instruct'}): LLaMA-Factory and mergekit would look for
          that folder next to the YAMLs, then on the Hugging Face Hub. Fill in the paths or Hub ids the cluster uses, or edit the files the export's README lists.
        </p>
      )}
      <div className="row">
        <button type="button" disabled={!ready || state.busy} onClick={() => void exportHandoff({ finetuningType, basePath, instructPath }).then((z) => z && saveBlob(z.blob, z.fileName))}>
          Export for a cluster
        </button>
        {!ready && <span className="muted">Load a model pair and a training dataset first.</span>}
        {state.message && <span className="muted" data-testid="handoff-message">{state.message}</span>}
      </div>
      {state.error && (
        <p className="errors" role="alert">
          {state.error}
        </p>
      )}
    </details>
  );
}
