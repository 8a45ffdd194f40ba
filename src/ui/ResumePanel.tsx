/**
 * Checkpoints and Resume: how often a new run saves a checkpoint to browser storage, and the unfinished run found
 * after a reload (step k of n, when it was saved, which models it needs) with Resume and Discard.
 */
import { useEffect } from 'react';
import { useStudio } from '../store';
import { NumberField } from './NumberField';

const noop = (): void => {};

/** The resume / checkpoint controls of the training section. */
export function ResumePanel() {
  const resume = useStudio((s) => s.resume);
  const init = useStudio((s) => s.initResume);
  const setEvery = useStudio((s) => s.setCheckpointEvery);
  const setGoOn = useStudio((s) => s.setContinueWithoutCheckpoints);
  const resumeRun = useStudio((s) => s.resumeRun);
  const cancel = useStudio((s) => s.cancelResume);
  const discard = useStudio((s) => s.discardRun);
  const running = useStudio((s) => s.run.status === 'running');
  const session = useStudio((s) => s.session);
  useEffect(() => {
    void init();
  }, [init]);
  const info = resume.info;
  const pairLoaded = info !== null && session?.base?.name === info.baseModel && session?.instruct?.name === info.instructModel;
  return (
    <div data-testid="resume-panel">
      <NumberField
        id="checkpoint-every"
        label="Checkpoint every (steps)"
        value={resume.checkpointEvery}
        onChange={setEvery}
        onValidity={noop}
        integer
        min={0}
        hint="0 = about one minute of work; checkpoints are kept in this browser so a run survives a reload or a lost GPU"
        disabled={running}
      />
      <label className="row">
        <input type="checkbox" checked={resume.continueWithoutCheckpoints} onChange={(e) => setGoOn(e.currentTarget.checked)} disabled={running} />
        Go on without checkpoints when one cannot be saved (otherwise the run stops with the reason; saved checkpoints are kept)
      </label>
      {info && (
        <div className="row" data-testid="resumable-run">
          <span>
            Unfinished run: step {info.step} of {info.totalSteps}, saved {new Date(info.savedAt).toLocaleString()} ({(info.bytes / 2 ** 20).toFixed(1)} MiB), on{' '}
            <b>{info.baseModel}</b> / <b>{info.instructModel}</b>.{' '}
            {!pairLoaded && <span className="muted">Resume loads the demo pair again by itself; other models must be dropped again first (same folders and datasets).</span>}
          </span>
          <button type="button" className="primary" onClick={() => void resumeRun()} disabled={running}>
            Resume
          </button>
          <button type="button" onClick={() => void discard()} disabled={running}>
            Discard
          </button>
        </div>
      )}
      {resume.running && (
        <button type="button" onClick={cancel}>
          Cancel resumed run
        </button>
      )}
      {resume.error && (
        <p className="error" role="alert">
          {resume.error}
        </p>
      )}
    </div>
  );
}
