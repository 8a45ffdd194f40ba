/**
 * Live and last training: the status line (ends with "Training complete" and the final loss), the step progress,
 * the loss chart (raw + EMA), held-out losses before/after (TrainEvent 'eval') and a step log.
 */
import type { EvalLoss, StepPoint, TrainingRecord, TrainingRun } from '../store';
import { formatDuration, formatInt, formatLoss } from './format';
import { LossChart } from './LossChart';

function statusText(run: TrainingRun, last: TrainingRecord | null): string {
  const lastPoint = run.points[run.points.length - 1];
  switch (run.status) {
    case 'running':
      if (run.message) return `Training: ${run.message.split('\n')[0] ?? ''}…`;
      return lastPoint
        ? `Step ${lastPoint.step}/${run.totalSteps} · loss ${formatLoss(lastPoint.loss)} · ${formatInt(run.tokensPerSec)} tokens/s · ETA ${formatDuration(run.etaSec)}`
        : 'Training: starting…';
    case 'done':
      return `Training complete: final loss ${formatLoss(lastPoint?.loss)} after ${lastPoint?.step ?? 0} steps`;
    case 'cancelled':
      return `Training cancelled after ${lastPoint?.step ?? 0} steps`;
    case 'error':
      return `Training failed: ${run.error ?? 'unknown error'}`;
    case 'idle':
      if (!last) return 'Not trained yet.';
      return last.outcome.status === 'done'
        ? `Last run (${new Date(last.finishedAt).toLocaleString()}): Training complete: final loss ${formatLoss(last.finalLoss)} after ${last.outcome.steps} steps`
        : `Last run (${new Date(last.finishedAt).toLocaleString()}): cancelled after ${last.outcome.steps} steps`;
  }
}

const EVAL_ROWS: readonly { label: string; before: EvalLoss['model']; after: EvalLoss['model'] }[] = [
  { label: 'Base → Base + LoRA', before: 'base', after: 'base+lora' },
  { label: 'Instruct → Instruct + grafted LoRA (Shadow-FT; f32, before the BF16 merge)', before: 'instruct', after: 'instruct+graft' },
];

function EvalTable({ evals }: { evals: readonly EvalLoss[] }) {
  if (evals.length === 0) return null;
  const get = (m: EvalLoss['model']): number | undefined => evals.find((e) => e.model === m)?.loss;
  return (
    <table className="evals" data-testid="eval-table">
      <caption>Held-out loss (mean NLL per assistant token)</caption>
      <thead>
        <tr><th>Model</th><th>Before</th><th>After</th></tr>
      </thead>
      <tbody>
        {EVAL_ROWS.map((r) => (
          <tr key={r.label}>
            <td>{r.label}</td>
            <td>{formatLoss(get(r.before))}</td>
            <td>{formatLoss(get(r.after))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function StepLog({ points }: { points: readonly StepPoint[] }) {
  return (
    <details>
      <summary>Step log ({points.length} steps)</summary>
      <table className="step-log" data-testid="step-log">
        <thead>
          <tr><th>Step</th><th>Loss</th><th>Learning rate</th><th>Grad norm</th></tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.step} data-loss={p.loss}>
              <td>{p.step}</td>
              <td>{formatLoss(p.loss)}</td>
              <td>{p.learningRate.toExponential(3)}</td>
              <td>{p.gradNorm.toFixed(3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** Progress of the current run, or the last run after a reload. */
export function TrainProgress({ run, last }: { run: TrainingRun; last: TrainingRecord | null }) {
  const showLast = run.status === 'idle' && last !== null;
  const points = showLast ? last.points : run.points;
  const evals = showLast ? last.evals : run.evals;
  const step = points[points.length - 1]?.step ?? 0;
  const total = showLast ? last.totalSteps : run.totalSteps;
  return (
    <div className="train-progress">
      <p className={`status ${run.status}`} data-testid="train-status" role="status">
        {statusText(run, last)}
      </p>
      {total > 0 && (
        <div className="progress-line">
          <progress value={step} max={total} />
          <span className="muted">
            {step}/{total} steps
          </span>
        </div>
      )}
      {points.length > 0 && <LossChart points={points} />}
      <EvalTable evals={evals} />
      {points.length > 0 && <StepLog points={points} />}
      {!showLast && run.log.length > 0 && (
        <details>
          <summary>Run log ({run.log.length} messages)</summary>
          <pre className="run-log">{run.log.join('\n')}</pre>
        </details>
      )}
    </div>
  );
}
