/**
 * The unfinished comparison found in this browser (after a reload, a cancel or a failure; app/durableCompare.ts):
 * what it finished (which trainings, the checkpoint of the one under way, which models are measured), with Resume
 * and Discard. Resume is disabled with the reason while a training run or another comparison holds the GPU.
 */
import { useEffect } from 'react';
import { useStudio } from '../../store';
import { compareModelLabels, runLabel } from '../../worker/client';

/** The Resume box (nothing when no comparison is unfinished). */
export function CompareResume() {
  const r = useStudio((s) => s.resumableCompare);
  const refresh = useStudio((s) => s.refreshResumableCompare);
  const resume = useStudio((s) => s.resumeCompare);
  const discard = useStudio((s) => s.discardResumableCompare);
  const comparing = useStudio((s) => s.compare.status === 'running');
  const training = useStudio((s) => s.run.status === 'running');
  const gpuReady = useStudio((s) => s.gpu.status === 'ready');
  useEffect(() => {
    void refresh();
  }, [refresh]);
  if (!r || comparing) return null;
  const kind = { stage: r.settings.stage ?? 'sft', finetuningType: r.settings.finetuningType ?? 'lora' } as const;
  const labels = compareModelLabels(kind);
  const done = [
    ...r.trained.map((t) => `${runLabel(kind, t.run)} trained (${t.steps} steps)`),
    ...(r.checkpoint ? [`${runLabel(kind, r.checkpoint.run)} at step ${r.checkpoint.step} of ${r.checkpoint.totalSteps}`] : []),
    ...(r.measured.length ? [`measured: ${r.measured.map((m) => labels[m]).join(', ')}`] : []),
  ];
  const why = training ? 'Training is running; resume when it has finished.' : !gpuReady ? 'WebGPU is needed.' : null;
  return (
    <div className="row" data-testid="resumable-compare">
      <span>
        Unfinished comparison of {new Date(r.startedAt).toLocaleString()} on <b>{r.baseModel}</b> / <b>{r.instructModel}</b>: {done.length ? done.join('; ') : 'nothing finished yet'}.{' '}
        <span className="muted">Resume skips what is finished and continues from the last checkpoint, with its own settings.</span>
      </span>
      <button type="button" className="primary" onClick={() => void resume()} disabled={why !== null}>
        Resume comparison
      </button>
      <button type="button" onClick={() => void discard()}>
        Discard
      </button>
      {why && <span className="muted">{why}</span>}
    </div>
  );
}
