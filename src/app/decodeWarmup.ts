/**
 * The decode part of the speed warm-up (issue 20, "estimate within ±30%"): greedy generation reaches far fewer FLOP/s
 * than a training step (one token per forward: many small dispatches), so the Compare estimate times it instead of
 * assuming the training speed. On the warm-up's model (the Base, no adapter) it generates {@link DECODE_WARMUP_NEW}
 * tokens once to compile the pipelines, then {@link DECODE_TIMED_NEW} tokens timed, with no stop token, from a prompt
 * of the run's own data; the speed is the estimate's answer FLOPs for that prompt and those new tokens
 * (compareEstimate.ts decodeFlopsPerSec) over their wall seconds.
 */
import type { Checkpoint } from '../io/checkpoint';
import type { ModelConfig } from '../io/config/types';
import type { GpuContext } from '../engine/gpu/context';
import type { LoraSettings } from '../engine/model/loraTypes';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../engine/model/model';
import { loadModelWeights } from '../engine/model/weights';
import { createGenerator, type Generator } from '../engine/generate/generate';
import { decodeFlopsPerSec } from './compareEstimate';

/** New tokens of the untimed first generation (compiles the prefill and decode pipelines). */
export const DECODE_WARMUP_NEW = 4;
/** New tokens of the timed generation. */
export const DECODE_TIMED_NEW = 24;

/** A measured decode. */
export interface DecodeSample {
  /** answer FLOPs per second (compareEstimate.ts counting) */
  readonly flopsPerSec: number;
  /** new tokens per second of the timed generation, and its prompt length */
  readonly tokensPerSec: number;
  readonly promptTokens: number;
}

/**
 * Times greedy generation on `checkpoint` (see the file comment). `promptIds` is cut to leave room for the new tokens
 * within max_position_embeddings.
 * @throws Error for an empty prompt; WeightShapeError / DeviceLimitError from loading; the signal's reason when cancelled.
 */
export async function measureDecodeSpeed(ctx: GpuContext, cfg: ModelConfig, checkpoint: Checkpoint, lora: LoraSettings, promptIds: readonly number[], signal: AbortSignal): Promise<DecodeSample> {
  const room = cfg.maxPositionEmbeddings - DECODE_TIMED_NEW;
  const prompt = promptIds.slice(0, Math.max(1, Math.min(room, promptIds.length)));
  if (prompt.length === 0) throw new Error('the decode warm-up needs a prompt of at least one token');
  let model: GpuModel | null = null;
  let gen: Generator | null = null;
  try {
    model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, checkpoint));
    gen = createGenerator(ctx, model, prompt.length + DECODE_TIMED_NEW);
    const opts = { lora: null, stopIds: new Set<number>(), signal };
    await gen.generate(prompt, { maxNewTokens: DECODE_WARMUP_NEW, temperature: 0, topP: 1, seed: 0 }, opts);
    signal.throwIfAborted();
    const t0 = performance.now();
    const r = await gen.generate(prompt, { maxNewTokens: DECODE_TIMED_NEW, temperature: 0, topP: 1, seed: 0 }, opts);
    const sec = Math.max(1e-6, (performance.now() - t0) / 1000);
    signal.throwIfAborted();
    const n = Math.max(1, r.newIds.length);
    return { flopsPerSec: decodeFlopsPerSec(cfg, lora, prompt.length, n, sec), tokensPerSec: n / sec, promptTokens: prompt.length };
  } finally {
    gen?.destroy();
    if (model) destroyGpuModel(model);
  }
}
