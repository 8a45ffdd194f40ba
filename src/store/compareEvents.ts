/**
 * The live comparison's state after each CompareEvent (app/progress.ts): the status line, the log, both training
 * curves (restored from the stored history when a comparison resumes: 'compare-resumed' and a training's 'resumed'
 * event) and the steps of each run. A pure function; the store (compareRun.ts) adds the progress view.
 */
import { COMPARE_MODEL_LABELS, type CompareEvent, type CompareRun } from '../worker/client';
import type { CompareRunState } from './compareSlice';

/** The runs as the log names them, whatever the kind (the stage labels of compareProgress.ts name the kind). */
const RUN_NAMES: Record<CompareRun, string> = { shadow: 'Shadow run (on Base)', conventional: 'conventional run (on Instruct)' };

/** The comparison after one event. */
export function applyCompareEvent(c: CompareRunState, e: CompareEvent): CompareRunState {
  switch (e.status) {
    case 'compare-message':
      return { ...c, message: e.message, log: [...c.log, e.message] };
    case 'compare-train': {
      const t = e.event;
      if (t.status === 'step') {
        return {
          ...c,
          message: `${RUN_NAMES[e.run]}: step ${t.step}/${t.totalSteps}, loss ${t.loss.toFixed(4)}`,
          curves: { ...c.curves, [e.run]: [...c.curves[e.run], { step: t.step, loss: t.loss }] },
          totalSteps: { ...c.totalSteps, [e.run]: t.totalSteps },
        };
      }
      if (t.status === 'preparing') return { ...c, message: `${RUN_NAMES[e.run]}: ${t.message}`, log: [...c.log, `${RUN_NAMES[e.run]}: ${t.message}`] };
      if (t.status === 'resumed') {
        const msg = `${RUN_NAMES[e.run]}: resumed from the checkpoint after step ${t.step}/${t.totalSteps}`;
        return { ...c, message: msg, log: [...c.log, msg], curves: { ...c.curves, [e.run]: t.history.map((p) => ({ step: p.step, loss: p.loss })) }, totalSteps: { ...c.totalSteps, [e.run]: t.totalSteps } };
      }
      return c;
    }
    case 'compare-resumed': {
      const curves = { ...c.curves };
      const totalSteps = { ...c.totalSteps };
      for (const r of e.trained) {
        curves[r.run] = r.losses.map((loss, i) => ({ step: i + 1, loss }));
        totalSteps[r.run] = r.steps;
      }
      const done = [...e.trained.map((r) => `${RUN_NAMES[r.run]} trained`), ...e.measured.map((m) => `${COMPARE_MODEL_LABELS[m]} measured`)];
      const msg = `resuming the comparison${done.length ? `: ${done.join(', ')} (kept)` : ''}`;
      return { ...c, message: msg, log: [...c.log, msg], curves, totalSteps };
    }
    case 'compare-eval':
      return { ...c, message: `held-out loss of ${COMPARE_MODEL_LABELS[e.model]}: batch ${e.batch}/${e.batches}` };
    case 'compare-loss':
      return { ...c, log: [...c.log, `held-out loss of ${COMPARE_MODEL_LABELS[e.model]}: ${e.loss.toFixed(4)}`] };
    case 'compare-generating':
      return { ...c, message: `greedy answers of ${COMPARE_MODEL_LABELS[e.model]}: prompt ${e.prompt}/${e.prompts}` };
    case 'compare-answer':
      return c;
    case 'compare-done':
      return { ...c, message: '' };
  }
}
