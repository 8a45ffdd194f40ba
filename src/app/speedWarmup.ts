/**
 * The speed a first run is estimated with (issue 20, fault 6): before any run was measured on this GPU, the studio
 * times a short warm-up of the run itself — its first optimizer steps, with its own settings, batches and
 * memory plan (engine/train/run.ts runTraining with Max steps {@link WARMUP_STEPS}, no held-out data, nothing kept) —
 * and takes the steps after the first (which also compiles the pipelines) as the measure (for a model whose step costs more than
 * {@link WARMUP_MAX_FLOPS}, smaller micro-batches of the same model: a lower bound of its speed): required FLOPs of that step
 * (engine/plan/flops.ts, the count the estimate uses) ÷ their wall seconds between the 'step' events. The
 * estimate then turns every phase's FLOPs into time at this speed, as it does with the speed of an earlier run.
 * It then times a short greedy decode on the same model (app/decodeWarmup.ts), the speed of the Compare estimate's
 * answers.
 */
import { measureDecodeSpeed, type DecodeSample } from './decodeWarmup';
import type { GpuContext } from '../engine/gpu/context';
import { planSteps, runTraining } from '../engine/train/run';
import type { TrainSettings } from '../engine/train/types';
import { instructTokenizer } from './datasetPreview';
import { flopsOf } from './runEstimate';
import { tokenizeTrainingData } from './trainingData';
import type { Session } from './session';

/** Training rows the warm-up tokenises (the first ones; its steps need at most 3 · B · accumulation of them). */
export const WARMUP_ROWS = 256;
/** Optimizer steps of the warm-up: the first compiles the pipelines, the others are the measure. */
export const WARMUP_STEPS = 3;
/**
 * Most required FLOPs of the timed step (about 10 s on a 2-core software adapter); costlier steps are timed with
 * micro-batches of 1 row, then with Max length halved down to {@link WARMUP_MIN_T}.
 */
export const WARMUP_MAX_FLOPS = 20e9;
export const WARMUP_MIN_T = 64;

/** The result of a warm-up. */
export interface SpeedSample {
  /** required FLOPs per second of the measured steps (flops.ts counting) */
  readonly flopsPerSec: number;
  /** mean wall seconds of a measured step, and of the whole warm-up (loading, compiling and every step) */
  readonly stepSec: number;
  readonly warmupSec: number;
  /** B and T of the largest micro-batch of the measured steps */
  readonly B: number;
  readonly T: number;
  /** the timed greedy decode (answers of a comparison); absent when it failed */
  readonly decode?: DecodeSample;
}

/**
 * Runs the warm-up of a run of `settings` on the session's pair and ticked data (see the file comment).
 * @throws as trainOnSession would for these settings and data (no pair, no training rows, settings or memory plan
 *   refused); the signal's reason when cancelled.
 */
export async function measureTrainingSpeed(session: Session, ctx: GpuContext, settings: TrainSettings, signal: AbortSignal): Promise<SpeedSample> {
  const t0 = performance.now();
  const pair = session.requirePair();
  const cfg = pair.base.config;
  const tok = await instructTokenizer(session);
  const vocab = Math.min(cfg.vocabSize, pair.instruct.config.vocabSize);
  const none = { conversations: [], skipped: [] };
  const rows = { conversations: session.conversations('train').slice(0, WARMUP_ROWS), skipped: [] };
  // The run's own settings, or smaller micro-batches when its steps are too costly to time twice (a bigger model).
  const { evalSteps: _e, heldoutRows: _h, ...own } = settings;
  let warm: TrainSettings = { ...own, maxSteps: WARMUP_STEPS };
  for (;;) {
    const { train } = tokenizeTrainingData(tok, rows, none, warm, vocab, pair.instruct.model.files.name, () => {});
    const usable = train.filter((e) => e.labels.some((l) => l !== -100));
    const timed = usable.length ? planSteps(usable, warm, tok.padTokenId).slice(1) : [];
    if (timed.length < WARMUP_STEPS - 1) throw new Error(`the warm-up needs ${WARMUP_STEPS} optimizer steps of training data`);
    const perStep = timed.map((st) => flopsOf(cfg, warm, st, false));
    const flops = Math.max(...perStep);
    if (flops > WARMUP_MAX_FLOPS && (warm.batchSize > 1 || warm.gradAccum > 1 || warm.maxLength > WARMUP_MIN_T)) {
      warm = warm.batchSize > 1 || warm.gradAccum > 1 ? { ...warm, batchSize: 1, gradAccum: 1 } : { ...warm, maxLength: Math.max(WARMUP_MIN_T, Math.floor(warm.maxLength / 2)) };
      continue;
    }
    signal.throwIfAborted(); // another GPU job came while tokenising: load nothing
    const at: number[] = [];
    await runTraining({
      ctx, config: cfg, base: pair.base.checkpoint, train, settings: warm, padTokenId: tok.padTokenId, signal,
      onEvent: (e) => {
        if (e.status === 'step') at.push(performance.now());
      },
    });
    signal.throwIfAborted();
    // All steps after the first, together: Σ FLOPs ÷ Σ seconds.
    const sec = Math.max(1e-6, ((at[timed.length] as number) - (at[0] as number)) / 1000);
    // The prompt of the first usable example (its tokens before the first labelled one).
    const first = usable[0] as (typeof usable)[number];
    const promptIds = Array.from(first.inputIds.slice(0, Math.max(1, first.labels.findIndex((l) => l !== -100))));
    const decode = await measureDecodeSpeed(ctx, cfg, pair.base.checkpoint, promptIds, signal).catch((e: unknown) => {
      if (signal.aborted) throw e;
      return undefined;
    });
    const total = perStep.reduce((a, b) => a + b, 0);
    const step = timed.flat();
    return {
      flopsPerSec: total / sec,
      stepSec: sec / timed.length,
      warmupSec: (performance.now() - t0) / 1000,
      B: Math.max(...step.map((b) => b.batchSize)),
      T: Math.max(...step.map((b) => b.seqLen)),
      ...(decode ? { decode } : {}),
    };
  }
}
