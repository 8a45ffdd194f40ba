/**
 * Compare before and while it runs (issue 20, fault 1): the estimate — both trainings, every held-out loss and the
 * answers, at the speed a training run is estimated with — and, while it runs, one whole-job bar with the ETA and a
 * bar per stage (store/compareProgress.ts).
 */
import { useEffect } from 'react';
import { useStudio } from '../../store';
import { planCompare } from '../../store/compareProgress';
import type { CompareProgressView } from '../../store/compareProgress';
import { formatDuration } from '../format';

/** The estimate line of the next comparison (nothing without one). */
export function CompareEstimateLine() {
  const settings = useStudio((s) => s.settings);
  const options = useStudio((s) => s.compareOptions);
  const session = useStudio((s) => s.session);
  const refresh = useStudio((s) => s.refreshCompareEstimate);
  const { data, error, speeds: own } = useStudio((s) => s.compareEstimate);
  const trainSpeeds = useStudio((s) => s.estimate.speeds);
  const speeds = own ?? trainSpeeds;
  useEffect(() => {
    const t = setTimeout(() => void refresh(), 300);
    return () => clearTimeout(t);
  }, [settings, options, session, trainSpeeds, refresh]);
  if (error) return <p className="errors">Compare estimate: {error}</p>;
  if (!data) return null;
  const sec = planCompare(data, speeds).reduce((a, p) => a + p.estSec, 0);
  return (
    <p data-testid="compare-estimate">
      Estimated time ≈ <b>{formatDuration(sec)}</b>{' '}
      <span className="muted">
        (2 trainings of {data.run.totalSteps} steps, {data.models} held-out losses of {data.run.evalBatches} batches, {data.models} × {data.prompts} answers of up to{' '}
        {options.maxNewTokens} tokens, at {(speeds.flopsPerSec / 1e9).toFixed(2)} GFLOP/s {speeds.measured ? `measured on this GPU (${speeds.source === 'warm-up' ? 'warm-up' : 'an earlier run'})` : 'assumed'};{' '}
        <span data-testid="compare-decode-speed">
          answers at {speeds.decodeSecPerToken !== undefined ? `${(1000 * speeds.decodeSecPerToken).toFixed(1)} ms per token measured by a short greedy decode` : 'the training speed (decode not measured yet)'}
        </span>
        , counted at their full length, refined from the first measured ones)
      </span>
    </p>
  );
}

/** The whole-job bar with the ETA and each stage's bar. */
export function CompareProgressBars({ p }: { p: CompareProgressView }) {
  return (
    <div data-testid="compare-progress">
      <div className="progress-line">
        <progress value={p.fraction} max={1} />
        <span className="muted" data-testid="compare-eta">
          {Math.round(p.fraction * 100)}% · {formatDuration(p.elapsedSec)} elapsed · ETA {formatDuration(p.etaSec)} (estimate)
        </span>
      </div>
      <ul className="phases">
        {p.phases.map((ph) => (
          <li key={ph.id} data-phase={ph.id} className={ph.current ? 'current' : ''}>
            <progress value={ph.fraction} max={1} /> {ph.label}
            {ph.fraction >= 1 ? ' ✓' : ph.current ? ` ${Math.round(ph.fraction * 100)}%` : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}
