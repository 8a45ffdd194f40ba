/**
 * What was recognised: the Base and Instruct cards with Swap, the datasets with example counts, errors (each
 * naming the file/tensor/row), warnings and ignored files.
 */
import { useStudio } from '../store';
import type { ModelSummary } from '../worker/client';
import { DatasetTable } from './DatasetTable';
import { formatBytes, formatParams } from './format';

function ModelCard({ role, m }: { role: 'Base' | 'Instruct'; m: ModelSummary | null }) {
  return (
    <div className="card model" data-testid={`model-${role.toLowerCase()}`}>
      <div className="role">{role}</div>
      {m ? (
        <>
          <div className="model-name">{m.name}</div>
          <div className="muted">
            {m.modelType} · {m.numLayers} layers · hidden {m.hiddenSize} · {m.numHeads}/{m.numKvHeads} heads · vocab {m.vocabSize}
          </div>
          <div className="muted">
            {formatParams(m.numParams)} params · {m.numTensors} tensors · {m.dtypes.join(', ')} · {formatBytes(m.totalBytes)}
          </div>
          <div className="muted">
            tokenizer {m.hasTokenizer ? '✓' : '✗'} · chat template {m.chatTemplateSource ? `✓ (${m.chatTemplateSource})` : m.hasChatTemplate ? '✓' : '✗'} · lm_head {m.lmHead === 'tied' ? 'tied to embed_tokens' : 'separate'}
          </div>
          {m.warnings.length > 0 && (
            <ul className="warnings" data-testid={`model-${role.toLowerCase()}-warnings`}>
              {m.warnings.map((w) => <li key={w}>{w}</li>)}
            </ul>
          )}
        </>
      ) : (
        <div className="muted">not loaded</div>
      )}
    </div>
  );
}

/** The recognised pair and datasets. */
export function ModelsView() {
  const session = useStudio((s) => s.session);
  const filesError = useStudio((s) => s.filesError);
  const swapRoles = useStudio((s) => s.swapRoles);
  const busy = useStudio((s) => s.filesBusy || s.run.status === 'running');
  if (!session && !filesError) return null;
  return (
    <div className="models-view">
      {session && (session.base || session.instruct) && (
        <div className="pair">
          <ModelCard role="Base" m={session.base} />
          <button type="button" onClick={() => void swapRoles()} disabled={busy || !session.base || !session.instruct} title="Exchange Base and Instruct">
            ⇄ Swap
          </button>
          <ModelCard role="Instruct" m={session.instruct} />
        </div>
      )}
      {session?.decidedBy && <p className="muted">Roles decided by: {session.decidedBy}</p>}
      {session && session.datasets.length > 0 && <DatasetTable datasets={session.datasets} />}
      {session && session.datasets.length === 0 && session.base && <p className="muted">No dataset yet: drop a .json, .jsonl, .csv or .parquet file (or a LLaMA-Factory data folder) to train.</p>}
      {(filesError || (session && session.errors.length > 0)) && (
        <ul className="errors" role="alert">
          {filesError && <li>{filesError}</li>}
          {session?.errors.map((e) => <li key={e}>{e}</li>)}
        </ul>
      )}
      {session && session.warnings.length > 0 && (
        <ul className="warnings">
          {session.warnings.map((w) => <li key={w}>{w}</li>)}
        </ul>
      )}
      {session && session.ignored.length > 0 && (
        <details>
          <summary>{session.ignored.length} files ignored</summary>
          <ul className="muted">
            {session.ignored.map((f) => (
              <li key={f.path}>
                {f.path}: {f.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
