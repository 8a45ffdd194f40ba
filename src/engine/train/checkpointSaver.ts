/**
 * Saving a run's checkpoints (run.ts, prefRun.ts, through the step loop of loop.ts): capture the state, hand it to
 * TrainJob.onCheckpoint, report a 'checkpoint' event, and on a failed save either stop the run (CheckpointSaveError)
 * or, with continueWithoutCheckpoints, go on without saving more.
 */
import type { TrainCheckpoint } from './checkpoint';
import type { TrainEvent } from './types';

/** A checkpoint could not be saved; `cause` is what the save threw. Checkpoints saved before are untouched. */
export class CheckpointSaveError extends Error {
  override name = 'CheckpointSaveError';
}

/** The seconds of work between two automatic checkpoints (TrainJob.checkpointEvery absent). */
export const AUTO_CHECKPOINT_SECONDS = 60;

/** What {@link checkpointSaver} needs: the job's hooks, the run's total steps and how to capture the state. */
export interface CheckpointSaverOptions {
  onCheckpoint?(c: TrainCheckpoint): Promise<void>;
  readonly continueWithoutCheckpoints?: boolean;
  readonly total: number;
  onEvent(e: TrainEvent): void;
  /** the state after `step` steps */
  capture(step: number): Promise<TrainCheckpoint>;
}

/**
 * The saver of a run: `save(step)` captures the state and saves it while saving is on (onCheckpoint given and no
 * failed save with continueWithoutCheckpoints); it always returns the captured state.
 * @throws (from save) CheckpointSaveError naming the step and the cause when onCheckpoint rejects, unless
 *   continueWithoutCheckpoints; capture's errors
 */
export function checkpointSaver(o: CheckpointSaverOptions): { saving(): boolean; save(step: number): Promise<TrainCheckpoint> } {
  let saving = o.onCheckpoint !== undefined;
  return {
    saving: () => saving,
    async save(step) {
      const c = await o.capture(step);
      if (!saving || !o.onCheckpoint) return c;
      try {
        await o.onCheckpoint(c);
        o.onEvent({ status: 'checkpoint', step, totalSteps: o.total });
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        o.onEvent({ status: 'checkpoint', step, totalSteps: o.total, error: why });
        if (!o.continueWithoutCheckpoints) throw new CheckpointSaveError(`the checkpoint after step ${step} could not be saved (${why}); the run stopped, checkpoints saved before are kept`, { cause: e });
        saving = false;
        o.onEvent({ status: 'preparing', message: `continuing without checkpoints after a failed save at step ${step}` });
      }
      return c;
    },
  };
}
