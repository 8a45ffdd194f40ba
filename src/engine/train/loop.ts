/**
 * The optimizer-step loop shared by the SFT run (run.ts) and the preference run (prefRun.ts): the learning-rate
 * schedule (cosine with warmup, schedule.ts), one step per planned micro-batch group, the loss history, the 'step'
 * events with their ETA, evaluations during training every settings.evalSteps steps ('eval-step'), checkpoints every
 * N steps (N fixed from the first two steps' time when not given) and cancel between steps. What a step and an
 * evaluation compute is the caller's (trainStep / prefTrainStep; evaluateLoss / held-out preference metrics), so the
 * loop is one piece of code whatever the objective (DESIGN.md: a new objective is a new loss over the same run).
 */
import { AUTO_CHECKPOINT_SECONDS } from './checkpointSaver';
import type { EvalPoint, LossPoint, TrainCheckpoint } from './checkpoint';
import type { PrefMetrics } from './prefLoss';
import { cosineWithWarmup, warmupSteps } from './schedule';
import type { TrainEvent, TrainSettings } from './types';

/** What one optimizer step reports to the loop. */
export interface LoopStepResult {
  /** the step's loss (nats per label token for SFT; mean preference loss for dpo) */
  readonly loss: number;
  /** global L2 norm of the gradients before clipping */
  readonly gradNorm: number;
  /** tokens (B·T, padding included) processed */
  readonly tokens: number;
  /** stage dpo: the step's preference metrics */
  readonly metrics?: PrefMetrics;
}

/** A held-out evaluation during training (absent = none). */
export interface LoopEvaluation {
  /** evaluate after every this many steps (> 0); never after the last step */
  readonly every: number;
  /** the 'evaluating' message before an evaluation after `done` steps */
  announce(done: number): string;
  /** the evaluation after `done` steps; null when the signal aborted it */
  run(done: number): Promise<{ readonly loss: number; readonly metrics?: PrefMetrics } | null>;
}

/** Everything {@link runStepLoop} needs. */
export interface StepLoop {
  readonly settings: Pick<TrainSettings, 'learningRate' | 'warmupRatio'>;
  /** planned optimizer steps, and the steps already done (a resumed run) */
  readonly total: number;
  readonly start: number;
  /** the loss history (one point per done step); the loop appends */
  readonly history: LossPoint[];
  /** evaluations during training so far; the loop appends */
  readonly evalPoints: EvalPoint[];
  readonly signal?: AbortSignal;
  onEvent(e: TrainEvent): void;
  /** optimizer step k (0-based) at learning rate lr; may throw when the signal aborts (the loop then stops) */
  step(k: number, lr: number): Promise<LoopStepResult>;
  readonly evaluation?: LoopEvaluation;
  /** seconds left after `done` steps: elapsed = seconds of training so far in this process (evaluations excluded), tokens = tokens processed */
  eta(elapsed: number, done: number, tokens: number): number;
  /** whether checkpoints are (still) saved; the saver of checkpoints after `done` steps */
  readonly saver: { saving(): boolean; save(done: number): Promise<TrainCheckpoint> };
  /** job.checkpointEvery: > 0 fixed, else chosen from the first two steps' time (AUTO_CHECKPOINT_SECONDS of work) */
  readonly checkpointEvery?: number;
}

/**
 * Runs steps start … total − 1 (see the file comment).
 * @returns 'complete' with the last step's loss, or 'cancelled' with the steps done when the signal aborted (between
 *   steps, inside a step or an evaluation); the caller then saves the state
 * @throws what the step or the evaluation throws when the signal is not aborted; CheckpointSaveError from the saver
 */
export async function runStepLoop(l: StepLoop): Promise<{ readonly status: 'complete' | 'cancelled'; readonly done: number; readonly last: number }> {
  const { total, start, settings: s, onEvent, signal } = l;
  const warm = warmupSteps(total, s.warmupRatio);
  const t0 = performance.now();
  let done = start;
  let tokens = 0;
  let last = l.history.at(-1)?.loss ?? NaN;
  let every = l.checkpointEvery && l.checkpointEvery > 0 ? l.checkpointEvery : 0;
  const stepSec: number[] = [];
  let evalMs = 0;
  const cancelled = { status: 'cancelled' as const, get done() { return done; }, get last() { return last; } };
  for (let k = start; k < total; k++) {
    if (signal?.aborted) return cancelled;
    const lr = s.learningRate * cosineWithWarmup(k, total, warm);
    const tStep = performance.now();
    let r: LoopStepResult;
    try {
      r = await l.step(k, lr);
    } catch (e) {
      if (signal?.aborted) return cancelled;
      throw e;
    }
    done = k + 1;
    tokens += r.tokens;
    last = r.loss;
    l.history.push({ step: done, loss: r.loss, lr, gradNorm: r.gradNorm });
    const elapsed = (performance.now() - t0 - evalMs) / 1000;
    onEvent({ status: 'step', step: done, totalSteps: total, loss: r.loss, learningRate: lr, gradNorm: r.gradNorm, tokensPerSec: tokens / elapsed, etaSec: l.eta(elapsed, done, tokens), ...(r.metrics ? { metrics: r.metrics } : {}) });
    stepSec.push((performance.now() - tStep) / 1000);
    // The first step of a process also compiles the pipelines: the shorter of the first two steps is the measure.
    if (l.saver.saving() && every === 0 && (stepSec.length >= 2 || done === total)) {
      every = Math.max(1, Math.round(AUTO_CHECKPOINT_SECONDS / Math.max(1e-3, Math.min(...stepSec))));
      onEvent({ status: 'preparing', message: `saving a checkpoint every ${every} steps (about ${AUTO_CHECKPOINT_SECONDS} s of work)` });
    }
    const ev = l.evaluation;
    if (ev && ev.every > 0 && done < total && done % ev.every === 0) {
      onEvent({ status: 'evaluating', message: ev.announce(done) });
      const tEval = performance.now();
      const m = await ev.run(done);
      if (!m || signal?.aborted) return cancelled;
      evalMs += performance.now() - tEval;
      l.evalPoints.push({ step: done, loss: m.loss });
      onEvent({ status: 'eval-step', step: done, totalSteps: total, loss: m.loss, ...(m.metrics ? { metrics: m.metrics } : {}) });
    }
    if (l.saver.saving() && every > 0 && done < total && done % every === 0) await l.saver.save(done);
  }
  return { status: 'complete', done, last };
}
