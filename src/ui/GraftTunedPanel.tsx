/**
 * "Graft a tuned Base": drop the Base after tuning elsewhere (a full model folder from any tool, or a PEFT /
 * LLaMA-Factory LoRA adapter folder); the worker checks it against the loaded pair (names, shapes, dtypes, family,
 * vocabulary; σ(W_B′, W_B) ≪ σ(W_B, W_I)), shows what tuning changed — σ(W_B′, W_B) per tensor, next to the
 * Base/Instruct heatmap — with its CSV, and streams the grafted Instruct model W_I + (W_B′ − W_B) into a zip.
 */
import { useRef, useState, type DragEvent } from 'react';
import { useStudio } from '../store';
import type { DroppedFile } from '../worker/client';
import { saveBlob } from './download';
import { filesFromDataTransfer, filesFromInput } from './dropFiles';
import { formatBytes, formatPercent, formatSigma } from './format';
import { Heatmap } from './Heatmap';
import { sigmaRange } from './heatmapLayout';

/** The graft section. */
export function GraftTunedPanel() {
  const ready = useStudio((s) => s.session?.pairReady ?? false);
  const session = useStudio((s) => s.session);
  const names = session?.pairReady ? { base: session.base?.name ?? '', instruct: session.instruct?.name ?? '' } : null;
  const pair = useStudio((s) => s.similarity.result);
  const g = useStudio((s) => s.graft);
  const checkTuned = useStudio((s) => s.checkTuned);
  const exportGrafted = useStudio((s) => s.exportGrafted);
  const cancel = useStudio((s) => s.cancelGraft);
  const [sharedRowsOnly, setShared] = useState(false);
  const [skipDerivation, setSkip] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const running = g.status === 'running';
  const check = (files: readonly DroppedFile[] | null): void => {
    if (files?.length) void checkTuned(files, { sharedRowsOnly, skipDerivationCheck: skipDerivation });
  };
  const onDrop = (e: DragEvent<HTMLDivElement>): void => {
    e.preventDefault();
    void filesFromDataTransfer(e.dataTransfer).then(check);
  };
  const c = g.check;
  const d = c?.derivation;
  return (
    <div>
      <div className="dropzone small" data-testid="tuned-dropzone" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
        <p className="muted">
          Drop the tuned Base folder here: a full model (after full-parameter training with LLaMA-Factory or any tool) or a LoRA adapter trained on{' '}
          {names ? <b>{names.base}</b> : 'the Base'}. It is grafted onto {names ? <b>{names.instruct}</b> : 'the Instruct model'}: W_I′ = W_I + (W_B′ − W_B), in f32, rounded once.
        </p>
        <div className="row">
          <button type="button" disabled={!ready || running} onClick={() => input.current?.click()}>
            Choose tuned folder…
          </button>
          <label className="checkbox">
            <input type="checkbox" checked={sharedRowsOnly} onChange={(e) => setShared(e.currentTarget.checked)} /> graft only the shared vocabulary rows (tokens were added)
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={skipDerivation} onChange={(e) => setSkip(e.currentTarget.checked)} /> graft even if TUNED does not look like a tune of the Base
          </label>
          {g.files && !running && (
            <button type="button" onClick={() => check(g.files)}>
              Check again
            </button>
          )}
          {!ready && <span className="muted">Load the Base and Instruct pair first.</span>}
        </div>
        <input
          ref={input}
          type="file"
          hidden
          multiple
          data-testid="tuned-input"
          {...{ webkitdirectory: '', directory: '' }}
          onChange={(e) => {
            const files = filesFromInput(e.currentTarget.files);
            e.currentTarget.value = '';
            check(files);
          }}
        />
      </div>
      {running && (
        <div className="progress-line" data-testid="graft-progress">
          {g.phase === 'export' && <progress value={g.progress?.bytesDone ?? 0} max={g.progress?.bytesTotal || 1} />}
          <span className="muted">
            {g.phase === 'check' ? 'checking the tuned Base (σ against Base and Instruct)…' : g.progress ? `${g.progress.file}: ${formatPercent(g.progress.bytesDone, g.progress.bytesTotal)} of ${formatBytes(g.progress.bytesTotal)}` : 'preparing…'}
          </span>
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        </div>
      )}
      {g.error && (
        <p className="errors" role="alert" data-testid="graft-error">
          {g.error}
        </p>
      )}
      {c && (
        <div data-testid="graft-check">
          <p className="muted">
            <b>{c.tunedName}</b>: {c.kind === 'lora' ? `LoRA adapter, W_I + s·B·A with s = ${c.scaling ?? ''}` : 'full model'} · {c.changedTensors.length} tensors changed · σ(W_B′, W_B) ={' '}
            <span data-testid="graft-sigma-tuned" data-value={d?.tuned ?? ''}>{formatSigma(d?.tuned ?? null)}</span>
            {d?.pair != null && (
              <>
                {' '}vs σ(W_B, W_I) = {formatSigma(d.pair)} (ratio {d.ratio === null ? 'n/a' : d.ratio.toPrecision(3)})
              </>
            )}
            {' '}· {formatBytes(c.totalTensorBytes)} of tensors
          </p>
          {d?.verdict && (
            <p className="muted" data-testid="graft-derivation">
              Derived from the Base: closer to the Base than to the Instruct on {d.verdict.closerToBase} of {d.verdict.deciding} changed layer tensors; σ(W_B′, W_B) below that of
              unrelated weights on {d.verdict.nearBase} of {d.verdict.changed}.{d.verdict.refusal ? ` Grafted anyway: ${d.verdict.refusal}` : ''}
            </p>
          )}
          {c.vocab.map((v) => (
            <p key={v.tensor} className="muted">
              {v.tensor}: grafting the {v.sharedRows} shared rows (Base {v.baseRows}, TUNED {v.tunedRows}, Instruct {v.instructRows}).
            </p>
          ))}
          <div className="row">
            <button type="button" className="primary" disabled={running} onClick={() => void exportGrafted().then((z) => z && saveBlob(z.blob, z.fileName))}>
              Download grafted model
            </button>
            <button type="button" onClick={() => saveBlob(new Blob([c.csv], { type: 'text/csv' }), `${c.tunedName}-tuning-similarity.csv`)}>
              Download tuning CSV
            </button>
            {g.message && <span className="muted" data-testid="graft-message">{g.message}</span>}
          </div>
          <div className="side-by-side">
            <figure data-testid="tuning-heatmap">
              <figcaption>What tuning changed: σ(W_B′, W_B){pair ? ' — same colour scale as Base vs Instruct' : ''}</figcaption>
              <Heatmap rows={c.tuning.rows} {...(pair ? { range: sigmaRange(c.tuning.rows, pair.report.rows) } : {})} />
            </figure>
            {pair && (
              <figure data-testid="pair-heatmap">
                <figcaption>Base vs Instruct: σ(W_B, W_I)</figcaption>
                <Heatmap rows={pair.report.rows} range={sigmaRange(c.tuning.rows, pair.report.rows)} />
              </figure>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
