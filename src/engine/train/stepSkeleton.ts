/**
 * The shape every optimizer step shares (train/step.ts for LoRA, train/fullStep.ts for every weight): zero the
 * gradients; for each micro-batch record forward, the summed token loss and the backward scaled by
 * 1 / num_items_in_batch of the whole step (transformers Trainer's loss normalisation with gradient accumulation);
 * then the global norm and AdamW; read the loss sum and norm² back once. The kinds differ only in the hooks.
 */
import type { Batch } from '../../io/dataset/types';
import type { GpuContext } from '../gpu/context';
import { submitAndWait, withErrorScopes } from '../gpu/context';
import { createStorage, readF32 } from '../gpu/buffers';

/** Byte offset of the gradient norm² in the step's stats buffer (a storage-binding offset alignment). */
export const NORM_OFFSET = 256;

/**
 * A step's GPU-side statistics: f32 loss sum at byte 0 and f32 gradient norm² at byte {@link NORM_OFFSET}, read
 * back together once per optimizer step.
 */
export function createStepStats(ctx: GpuContext): GPUBuffer {
  return createStorage(ctx, NORM_OFFSET + 4, 'train.step-stats');
}

/** One f32 in the stats buffer, as a binding. */
export interface StatBinding {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

/** What one optimizer step returns. */
export interface StepResult {
  /** mean token NLL over the step's label tokens (nats) */
  readonly loss: number;
  /** global L2 norm of the gradients before clipping */
  readonly gradNorm: number;
  /** label tokens of the step (num_items_in_batch) */
  readonly numItems: number;
  /** tokens processed (B·T summed over micro-batches, padding included) */
  readonly tokens: number;
}

/** The parts in which kinds of step differ. */
export interface StepHooks {
  /** prefix of encoder labels and error scopes ("train", "full") */
  readonly label: string;
  /** optimizer step number (1-based), for messages */
  readonly step: number;
  /** records the clearing of every gradient buffer */
  zeroGrads(enc: GPUCommandEncoder): void;
  /**
   * Uploads micro-batch `i` and records its forward, the sum of its token losses into `lossSum` (accumulating when
   * i > 0) and its backward with `gradScale`. Called inside the step's error scope.
   * @throws Error for a micro-batch the state cannot hold (the step stops before any optimizer update)
   */
  microBatch(enc: GPUCommandEncoder, b: Batch, i: number, gradScale: number, lossSum: StatBinding): void;
  /** records Σ g² over every trainable buffer into `normSq` and AdamW with global-norm clipping */
  optimizer(enc: GPUCommandEncoder, normSq: StatBinding): void;
}

/**
 * Runs one optimizer step with `hooks` (see the file comment).
 * @param stats buffer from {@link createStepStats} (reused across steps); a transient one when omitted
 * @param signal when given and the step has several micro-batches, each micro-batch is waited for and the signal
 *   checked before the next one; an aborted step leaves parameters and moments as they were (only gradients written)
 * @throws Error when the micro-batches hold no label tokens; whatever a hook throws; GpuCommandError naming the
 *   kernel; the signal's reason when aborted
 */
export async function runStep(ctx: GpuContext, micro: readonly Batch[], hooks: StepHooks, stats?: GPUBuffer, signal?: AbortSignal): Promise<StepResult> {
  signal?.throwIfAborted();
  const numItems = micro.reduce((a, b) => a + b.numItems, 0);
  if (numItems === 0) throw new Error('this optimizer step has no label tokens (every label is -100); check max length and the chat template');
  const gradScale = 1 / numItems;
  const scope = `${hooks.label} step ${hooks.step}`;
  let tokens = 0;
  const st = stats ?? createStepStats(ctx);
  const lossSum = { buffer: st, offset: 0, size: 4 };
  const normSq = { buffer: st, offset: NORM_OFFSET, size: 4 };
  try {
    await withErrorScopes(ctx, scope, () => {
      const zero = ctx.device.createCommandEncoder({ label: `${hooks.label}.zero-grads` });
      hooks.zeroGrads(zero);
      ctx.device.queue.submit([zero.finish()]);
    });
    for (const [i, b] of micro.entries()) {
      await withErrorScopes(ctx, scope, () => {
        const enc = ctx.device.createCommandEncoder({ label: `${hooks.label}.micro-batch ${i + 1}/${micro.length}` });
        hooks.microBatch(enc, b, i, gradScale, lossSum);
        ctx.device.queue.submit([enc.finish()]);
      });
      tokens += b.batchSize * b.seqLen;
      if (signal && i < micro.length - 1) {
        await ctx.device.queue.onSubmittedWorkDone();
        signal.throwIfAborted();
      }
    }
    signal?.throwIfAborted();
    const enc = ctx.device.createCommandEncoder({ label: `${hooks.label}.optimizer` });
    hooks.optimizer(enc, normSq);
    await submitAndWait(ctx, [enc.finish()]);
    const back = await readF32(ctx, st, 0, NORM_OFFSET / 4 + 1);
    return { loss: (back[0] as number) / numItems, gradNorm: Math.sqrt(back[NORM_OFFSET / 4] as number), numItems, tokens };
  } finally {
    if (!stats) st.destroy();
  }
}
