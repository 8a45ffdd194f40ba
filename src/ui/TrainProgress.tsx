/**
 * The live run, or the newest run of the history when none is running: the status line ("Training complete" with
 * the final loss smoothed and the last raw value, "Cancelling…", "cancelled at k/n", a failure with its error, a
 * warning when every step trained at learning rate 0), the whole-run progress bar with the ETA and each phase's own
 * progress (tokenise, load, every held-out evaluation, the steps), the loss chart, held-out losses, the step log and
 * the timestamped run log.
 */
import { PrefEvalTable } from './PrefEvalTable';
import { useStudio } from '../store';
import type { EvalLoss, EvalPoint, LogLine, RunProgressView, RunRecord, StepPoint, TrainingRun } from '../store';
import { statusLabel, trainedAtZeroLr } from '../store/runHistory';
import { finalLoss } from '../store/trainingSlice';
import { formatDuration, formatInt, formatLoss } from './format';
import { LossChart } from './LossChart';

/** "final loss 1.2345 (smoothed; last step 1.3000)". */
export function finalLossText(points: readonly StepPoint[]): string {
  const f = finalLoss(points);
  return f ? `final loss ${formatLoss(f.smoothed)} (smoothed; last step ${formatLoss(f.last)})` : 'no step ran';
}

const ZERO_LR = 'every step trained at learning rate 0 (warmup), so the adapter is unchanged (B = 0)';

function liveText(run: TrainingRun): string {
  const lastPoint = run.points[run.points.length - 1];
  const steps = `${lastPoint?.step ?? 0}/${run.totalSteps || '?'}`;
  switch (run.status) {
    case 'running':
      if (run.cancelling) return `Cancelling… (stops after the current micro-batch; ${steps} steps done)`;
      if (run.message) return `Training: ${run.message.split('\n')[0] ?? ''}…`;
      return lastPoint ? `Step ${steps} · loss ${formatLoss(lastPoint.loss)} · ${formatInt(run.tokensPerSec)} tokens/s` : 'Training: starting…';
    case 'done':
      return trainedAtZeroLr(run.points)
        ? `Training complete, but ${ZERO_LR}: ${finalLossText(run.points)} after ${lastPoint?.step ?? 0} steps`
        : `Training complete: ${finalLossText(run.points)} after ${lastPoint?.step ?? 0} steps`;
    case 'cancelled':
      return `Training cancelled at ${steps}`;
    case 'error':
      return `Training failed at ${steps}: ${run.error ?? 'unknown error'}`;
    case 'idle':
      return 'Not trained yet.';
  }
}

function pastText(r: RunRecord): string {
  const when = new Date(r.startedAt).toLocaleString();
  if (r.status === 'complete') return `Last run (${when}): Training complete${trainedAtZeroLr(r.points) ? `, but ${ZERO_LR}` : ''}: ${finalLossText(r.points)} after ${r.stepsDone} steps`;
  return `Last run (${when}): ${statusLabel(r, false)}`;
}

type EvalRow = { label: string; before: EvalLoss['model']; after: EvalLoss['model'] };
const EVAL_ROWS: readonly EvalRow[] = [
  { label: 'Base → Base + LoRA', before: 'base', after: 'base+lora' },
  { label: 'Instruct → Instruct + grafted LoRA (Shadow-FT; f32, before the BF16 merge)', before: 'instruct', after: 'instruct+graft' },
];
/** finetuning_type full: the same events are the tuned Base W_B′ and the exported merged Instruct. */
const FULL_EVAL_ROWS: readonly EvalRow[] = [
  { label: 'Base → tuned Base (full)', before: 'base', after: 'base+lora' },
  { label: 'Instruct → Instruct + graft (full; W_I + (W_B′ − W_B) as exported)', before: 'instruct', after: 'instruct+graft' },
];

function EvalTable({ evals, full }: { evals: readonly EvalLoss[]; full: boolean }) {
  if (evals.length === 0) return null;
  const get = (m: EvalLoss['model']): number | undefined => evals.find((e) => e.model === m)?.loss;
  return (
    <table className="evals" data-testid="eval-table">
      <caption>Held-out loss (mean NLL per assistant token)</caption>
      <thead>
        <tr><th>Model</th><th>Before</th><th>After</th></tr>
      </thead>
      <tbody>
        {(full ? FULL_EVAL_ROWS : EVAL_ROWS).map((r) => (
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

/** The run log with local times. */
export function RunLog({ log }: { log: readonly LogLine[] }) {
  if (log.length === 0) return null;
  return (
    <details>
      <summary>Run log ({log.length} messages)</summary>
      <pre className="run-log" data-testid="run-log">{log.map((l) => `[${new Date(l.at).toLocaleTimeString()}] ${l.text}`).join('\n')}</pre>
    </details>
  );
}

function WholeProgress({ p }: { p: RunProgressView }) {
  return (
    <div data-testid="run-progress">
      <div className="progress-line">
        <progress value={p.fraction} max={1} />
        <span className="muted" data-testid="run-eta">
          {Math.round(p.fraction * 100)}% · {formatDuration(p.elapsedSec)} elapsed · ETA {formatDuration(p.etaSec)} (estimate{p.measuredFlopsPerSec ? `, at the measured ${(p.measuredFlopsPerSec / 1e9).toFixed(2)} GFLOP/s` : ''})
        </span>
      </div>
      <ul className="phases">
        {p.phases.map((ph) => (
          <li key={ph.id} data-phase={ph.id} className={ph.current ? 'current' : ''}>
            <progress value={ph.fraction} max={1} /> {ph.label}
            {ph.skipped ? ' (from an earlier run on the same pair and data)' : ph.fraction >= 1 ? ' ✓' : ph.current ? ` ${Math.round(ph.fraction * 100)}%` : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A stable empty list of held-out points (records from before evaluation during training). */
const NO_POINTS: readonly EvalPoint[] = [];

/** Progress of the current run, or the newest run of the history when none has run in this page. */
export function TrainProgress({ run, last }: { run: TrainingRun; last: RunRecord | null }) {
  const showLast = run.status === 'idle' && last !== null;
  const points = showLast ? last.points : run.points;
  const evals = showLast ? last.evals : run.evals;
  const evalPoints = (showLast ? last.evalPoints : run.evalPoints) ?? NO_POINTS;
  const after = evals.find((e) => e.model === 'base+lora' && e.when === 'after')?.loss ?? null;
  const step = points[points.length - 1]?.step ?? 0;
  const total = showLast ? last.totalSteps : run.totalSteps;
  const status = showLast ? 'idle' : run.status;
  const runId = showLast ? last.id : run.runId;
  const full = useStudio((s) => s.runs.find((r) => r.id === runId)?.settings.finetuningType === 'full');
  return (
    <div className="train-progress">
      <p className={`status ${status}`} data-testid="train-status" role="status">
        {showLast ? pastText(last) : liveText(run)}
      </p>
      {run.status === 'running' && run.progress && <WholeProgress p={run.progress} />}
      {total > 0 && (
        <div className="progress-line">
          <progress value={step} max={total} />
          <span className="muted" data-testid="step-count">
            {step}/{total} steps
          </span>
        </div>
      )}
      {points.length > 0 && <LossChart points={points} evalPoints={evalPoints} after={after} />}
      <EvalTable evals={evals} full={full} />
      <PrefEvalTable evals={showLast ? last.prefEvals : run.prefEvals} />
      {points.length > 0 && <StepLog points={points} />}
      <RunLog log={showLast ? last.log : run.log} />
    </div>
  );
}
