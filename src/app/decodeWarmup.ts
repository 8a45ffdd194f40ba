/**
 * The decode part of the speed warm-up (issue 20, "estimate within ±30%"): greedy generation is one small forward per
 * new token, bound by dispatch and read-back latency rather than FLOPs (on lavapipe it reaches ~20× fewer FLOP/s
 * than a training step, and its FLOP count grows with the prompt while its time does not), so the Compare estimate
 * times answers in seconds per new token measured here instead of FLOPs at the training speed. On the warm-up's
 * model (the Base, no adapter) it generates {@link DECODE_WARMUP_NEW} tokens once to compile the pipelines, then
 * {@link DECODE_TIMED_NEW} tokens with no stop token from a prompt of the run's own data; the measure is the mean
 * interval between consecutive new tokens (the prompt's prefill and the first token excluded).
 */
import type { Checkpoint } from '../io/checkpoint';
import type { ModelConfig } from '../io/config/types';
import type { GpuContext } from '../engine/gpu/context';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../engine/model/model';
import { loadModelWeights } from '../engine/model/weights';
import { createGenerator, type Generator } from '../engine/generate/generate';

/** New tokens of the untimed first generation (compiles the prefill and decode pipelines). */
export const DECODE_WARMUP_NEW = 4;
/** New tokens of the timed generation. */
export const DECODE_TIMED_NEW = 33;

/** A measured decode. */
export interface DecodeSample {
  /** wall seconds per new token (mean interval between consecutive tokens) */
  readonly secPerToken: number;
  /** the timed prompt's length, tokens */
  readonly promptTokens: number;
}

/**
 * Mean seconds between consecutive token times `at` (ms, as performance.now()).
 * @throws RangeError with fewer than two times.
 */
export function meanTokenInterval(at: readonly number[]): number {
  if (at.length < 2) throw new RangeError(`the decode warm-up needs at least two new tokens, got ${at.length}`);
  return ((at[at.length - 1] as number) - (at[0] as number)) / 1000 / (at.length - 1);
}

/**
 * Times greedy generation on `checkpoint` (see the file comment). `promptIds` is cut to leave room for the new tokens
 * within max_position_embeddings.
 * @throws Error for an empty prompt; RangeError when fewer than two tokens came; WeightShapeError / DeviceLimitError
 *   from loading; the signal's reason when cancelled.
 */
export async function measureDecodeSpeed(ctx: GpuContext, cfg: ModelConfig, checkpoint: Checkpoint, promptIds: readonly number[], signal: AbortSignal): Promise<DecodeSample> {
  const room = cfg.maxPositionEmbeddings - DECODE_TIMED_NEW;
  const prompt = promptIds.slice(0, Math.max(0, Math.min(room, promptIds.length)));
  if (prompt.length === 0) throw new Error('the decode warm-up needs a prompt of at least one token');
  let model: GpuModel | null = null;
  let gen: Generator | null = null;
  try {
    model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, checkpoint));
    gen = createGenerator(ctx, model, prompt.length + DECODE_TIMED_NEW);
    const greedy = (n: number) => ({ maxNewTokens: n, temperature: 0, topP: 1, seed: 0 });
    await gen.generate(prompt, greedy(DECODE_WARMUP_NEW), { lora: null, stopIds: new Set<number>(), signal });
    signal.throwIfAborted();
    const at: number[] = [];
    await gen.generate(prompt, greedy(DECODE_TIMED_NEW), { lora: null, stopIds: new Set<number>(), signal, onToken: () => void at.push(performance.now()) });
    signal.throwIfAborted();
    return { secPerToken: meanTokenInterval(at), promptTokens: prompt.length };
  } finally {
    gen?.destroy();
    if (model) destroyGpuModel(model);
  }
}
