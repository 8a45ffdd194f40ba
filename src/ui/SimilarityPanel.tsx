/**
 * Similarity: σ(W_B, W_I) = Σ|W_B − W_I| / (Σ|W_B| + Σ|W_I|) per tensor (Shadow-FT §2.3), computed in the worker.
 * Shows progress, the summary (the paper's figure = unweighted mean over model.layers.N. tensors; parameter-weighted
 * mean; min; max), the heatmap and the CSV download.
 */
import { useStudio } from '../store';
import { pairBlocker } from '../store/readiness';
import type { SimilarityResult } from '../worker/client';
import { saveBlob } from './download';
import { useRef } from 'react';
import { formatBytes, formatDuration, formatInt, formatPercent, formatSigma } from './format';
import { Heatmap } from './Heatmap';

function Summary({ result }: { result: SimilarityResult }) {
  const { summary, baseModel, instructModel } = result.report;
  const l = summary.layers;
  const item = (label: string, id: string, v: number | null, note?: string) => (
    <div className="stat">
      <dt>{label}</dt>
      <dd data-testid={id} data-value={v ?? ''}>
        {formatSigma(v)}
        {note && <span className="muted"> {note}</span>}
      </dd>
    </div>
  );
  return (
    <div>
      <p className="muted">
        Base <b>{baseModel}</b> vs Instruct <b>{instructModel}</b>: {l.nTensors} layer tensors ({formatInt(l.nParams)} parameters), {summary.allTensors.nTensors} tensors in all.
      </p>
      <dl className="stats" data-testid="sigma-summary">
        {item('Mean σ over layer tensors (paper figure)', 'sigma-paper', summary.paperFigure)}
        {item('Parameter-weighted mean σ', 'sigma-weighted', l.meanParamWeighted)}
        {item('Min σ (layer tensors)', 'sigma-min', l.min?.sigma ?? null, l.min ? `(${l.min.tensor})` : undefined)}
        {item('Max σ (layer tensors)', 'sigma-max', l.max?.sigma ?? null, l.max ? `(${l.max.tensor})` : undefined)}
      </dl>
    </div>
  );
}

/** The similarity section. */
/** " · ETA 12 s" from bytes done/total and the scan's start time (ms, performance.now()); empty until progress. */
function etaLabel(done: number, total: number, start: number | null): string {
  if (start === null || done <= 0 || done >= total) return '';
  const elapsed = (performance.now() - start) / 1000;
  return ` · ETA ${formatDuration((elapsed * (total - done)) / done)}`;
}

export function SimilarityPanel() {
  const sim = useStudio((s) => s.similarity);
  const blocker = useStudio((s) => pairBlocker(s.session));
  const ready = blocker === null;
  const compute = useStudio((s) => s.computeSimilarity);
  const cancel = useStudio((s) => s.cancelSimilarity);
  const running = sim.status === 'running';
  // Start of the current scan, for the ETA (linear in bytes read).
  const started = useRef<number | null>(null);
  if (running && started.current === null) started.current = performance.now();
  if (!running) started.current = null;
  const p = sim.progress;
  const result = sim.result;
  return (
    <div>
      <div className="row">
        <button type="button" onClick={() => void compute()} disabled={!ready || running}>
          {result ? 'Recompute similarity' : 'Compute similarity'}
        </button>
        {running && (
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        )}
        {result && (
          <button
            type="button"
            onClick={() => saveBlob(new Blob([result.csv], { type: 'text/csv' }), `${result.report.baseModel}-vs-${result.report.instructModel}-similarity.csv`)}
          >
            Download similarity CSV
          </button>
        )}
        {blocker !== null && !running && <span className="muted">{blocker}</span>}
      </div>
      {running && (
        <div className="progress-line" data-testid="similarity-progress">
          <progress value={p?.bytesDone ?? 0} max={p?.bytesTotal || 1} />
          <span className="muted">
            {p ? `${formatPercent(p.bytesDone, p.bytesTotal)} of ${formatBytes(p.bytesTotal)}${etaLabel(p.bytesDone, p.bytesTotal, started.current)} · ${p.tensor}` : 'starting…'}
          </span>
        </div>
      )}
      {sim.error && (
        <p className="errors" role="alert">
          {sim.error}
        </p>
      )}
      {sim.status === 'cancelled' && <p className="muted">Similarity cancelled.</p>}
      {result && (
        <>
          <Summary result={result} />
          <Heatmap rows={result.report.rows} />
          {result.report.warnings.length > 0 && (
            <ul className="warnings">
              {result.report.warnings.map((w) => <li key={w}>{w}</li>)}
            </ul>
          )}
          {(result.report.onlyInBase.length > 0 || result.report.onlyInInstruct.length > 0) && (
            <p className="muted">
              Only in Base: {result.report.onlyInBase.join(', ') || 'none'} · only in Instruct: {result.report.onlyInInstruct.join(', ') || 'none'}
            </p>
          )}
        </>
      )}
    </div>
  );
}
