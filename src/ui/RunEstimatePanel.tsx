/**
 * Before Start: how many optimizer steps the run takes (exact: the run's own tokenisation and batching), its
 * estimated time (required FLOPs ÷ the device speed measured in an earlier run or by a three-step warm-up of this run
 * (store/speedWarmup.ts), or an assumed speed while neither is known, labelled so;
 * plus loading and tokenising), and the schedule warnings (every step at learning rate 0; Max steps within the
 * warmup). Recomputed 300 ms after the last settings or data change.
 */
import { useEffect } from 'react';
import { useStudio } from '../store';
import { planPhases, totalSec, type Speeds } from '../store/runProgress';
import { warmupPending } from '../store/speedWarmup';
import { formatDuration, plural } from './format';
import { scheduleWarningsFor } from '../store/scheduleNotes';

/** Where the speed of the estimate comes from, in words. */
function speedSource(speeds: Speeds): string {
  if (speeds.source === 'warm-up' && speeds.warmup) {
    const w = speeds.warmup;
    return `measured by a warm-up of this run on this GPU (${w.stepSec.toFixed(2)} s per step of up to ${w.B} × ${w.T} tokens per micro-batch)`;
  }
  if (speeds.measured) return 'measured in an earlier run on this GPU';
  return warmupPending() ? 'assumed — timing a three-step warm-up of this run on this GPU…' : 'assumed — refined from the first measured step';
}

/** The estimate line and the warnings. */
export function RunEstimatePanel() {
  const settings = useStudio((s) => s.settings);
  const session = useStudio((s) => s.session);
  const runs = useStudio((s) => s.runs);
  const refresh = useStudio((s) => s.refreshEstimate);
  const gpuStatus = useStudio((s) => s.gpu.status);
  const { data, error, speeds } = useStudio((s) => s.estimate);
  useEffect(() => {
    const t = setTimeout(() => void refresh(), 300);
    return () => clearTimeout(t);
  }, [settings, session, runs, gpuStatus, refresh]);
  if (error) return <p className="errors">Run estimate: {error}</p>;
  if (!data) return null;
  if (data.trainExamples === 0)
    return (
      <p className="errors" data-testid="run-estimate" data-steps={0} role="alert">
        No training example has assistant tokens within Max length {settings?.maxLength}: the run would have nothing to train on. Raise Max length.
      </p>
    );
  const sec = totalSec(planPhases(data, speeds));
  const warnings = settings ? scheduleWarningsFor(settings, data.schedule.warnings) : data.schedule.warnings;
  const evals = data.evalPasses ? data.evalPasses - Number(data.cachedEvals.base) - Number(data.cachedEvals.instruct) + data.evalsDuringTraining : 0;
  const gflop = (data.trainFlops + evals * data.evalPassFlops) / 1e9;
  return (
    <div className="run-estimate">
      <p data-testid="run-estimate" data-steps={data.totalSteps}>
        <b>{data.totalSteps}</b> optimizer {data.totalSteps === 1 ? 'step' : 'steps'} ({plural(data.microBatches, 'micro-batch')}, warmup {data.schedule.warmupSteps}){data.evalPasses ? `, ${plural(evals, 'held-out evaluation')} of ${plural(data.evalBatches, 'batch')}${data.evalsDuringTraining ? ` (${data.evalsDuringTraining} during training)` : ''}` : ''} · estimated time ≈{' '}
        <b>{formatDuration(sec)}</b>{' '}
        <span className="muted">
          (estimate: {gflop.toFixed(gflop < 10 ? 2 : 0)} GFLOP at {(speeds.flopsPerSec / 1e9).toFixed(2)} GFLOP/s {speedSource(speeds)}, plus loading and tokenising)
        </span>
      </p>
      {data.heldoutRows.available > 0 && (
        <p className="muted" data-testid="heldout-rows">
          Held-out loss over {data.heldoutRows.used === data.heldoutRows.available ? `all ${data.heldoutRows.used}` : `the first ${data.heldoutRows.used} of ${data.heldoutRows.available}`} held-out rows
          {data.heldoutRows.auto ? ' (Held-out rows 0 = automatic: evaluations within a quarter of the training work; set a number for more)' : ' (Held-out rows)'}, in batches of up to{' '}
          {data.evalBatchTokens} tokens (the training batch B × T of the memory plan).
        </p>
      )}
      {warnings.length > 0 && (
        <ul className="warnings" data-testid="schedule-warnings" role="alert">
          {warnings.map((w) => <li key={w}>{w}</li>)}
        </ul>
      )}
    </div>
  );
}
