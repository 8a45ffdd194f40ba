/**
 * Preference tuning (DPO and the other LLaMA-Factory `pref_loss` objectives) on the same forward and backward as SFT:
 *
 *   logp_b = −Σ_t NLL[b, t] over row b's label positions (acts.losses after recordForward, HF shift; summed in f64
 *            on the CPU from the M = B·T f32 values read back)
 *   reference logps = the same forward with the adapter off (lora = null), once per pair before training
 *            (TRL DPOTrainer / LLaMA-Factory with LoRA: `disable_adapter()` as the reference model)
 *   ℓ and d ℓ / d logp_b from train/prefLoss.ts (CPU, f64)
 *   backward = the cross-entropy backward with a per-row scale: d ℓ / d NLL[b, t] = −d ℓ / d logp_b
 *            (recordBackward's rowScale; gradScale 1), so no second copy of the model code.
 *
 * Gradient accumulation: every pair's ℓ depends only on its own two sequences, so each micro-batch's gradient is
 * taken with the weight 1 / P_step (P_step = pairs of the whole optimizer step) — the mean over the step's pairs, what
 * TRL and LLaMA-Factory compute for one batch of P_step pairs. Then the same clip + AdamW as SFT (step.ts).
 * Each micro-batch needs one readback between its forward and its backward (the per-row scale depends on the loss).
 */
import type { Batch, PreferenceBatch } from '../../io/dataset/types';
import type { GpuContext } from '../gpu/context';
import { submitAndWait, withErrorScopes } from '../gpu/context';
import { createStorage, readF32, writeBytes } from '../gpu/buffers';
import type { Activations } from '../model/activations';
import type { LoraParams } from '../model/lora';
import { recordBackward, recordForward, uploadBatch, type GpuModel } from '../model/model';
import { preferenceLoss, usesReference, type PrefLossOptions, type PrefMetrics } from './prefLoss';
import { pcgHash } from './rng';
import { createStepStats, NORM_OFFSET, recordClipAdamW, type OptimStep } from './step';

/** Sequence log-probs of the P pairs of one preference micro-batch, f64 [P] each (nats). */
export interface PairLogps {
  readonly chosen: Float64Array;
  readonly rejected: Float64Array;
}

/**
 * Per-row log-probs from per-token NLLs: logp_b = −Σ_t losses[b·T + t] (f64 sum; ignored positions hold 0).
 * @param losses f32 [B·T] (acts.losses after recordForward) @returns f64 [B]
 * @throws Error when losses holds fewer than B·T values
 */
export function rowLogps(losses: ArrayLike<number>, B: number, T: number): Float64Array {
  if (losses.length < B * T) throw new Error(`rowLogps: ${losses.length} token losses, expected B·T = ${B}·${T}`);
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += losses[b * T + t] as number;
    out[b] = -s;
  }
  return out;
}

/** Splits the 2P row log-probs of a preference batch (chosen rows first) into chosen and rejected. */
export function splitPairs(rows: Float64Array, P: number): PairLogps {
  if (rows.length !== 2 * P) throw new Error(`splitPairs: ${rows.length} rows, expected 2·P = ${2 * P}`);
  return { chosen: rows.slice(0, P), rejected: rows.slice(P) };
}

/**
 * Forward of one batch (with `lora`, or the bare model when null; eval mode, no dropout) and its per-row log-probs.
 * @returns f64 [B]
 * @throws GpuCommandError naming the kernel when the device reports an error
 */
export async function sequenceLogps(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams | null, batch: Batch): Promise<Float64Array> {
  const s = uploadBatch(ctx, model, acts, batch);
  const enc = ctx.device.createCommandEncoder({ label: 'pref.sequence-logps' });
  recordForward(ctx, enc, model, acts, lora, s);
  await submitAndWait(ctx, [enc.finish()]);
  return rowLogps(await readF32(ctx, acts.losses, 0, batch.batchSize * batch.seqLen), batch.batchSize, batch.seqLen);
}

/**
 * The reference log-probs of every batch: the model with the adapter off (TRL/LLaMA-Factory's reference for LoRA),
 * computed once before training. @param onProgress called after each batch @returns one PairLogps per batch
 * @throws the signal's reason when aborted; GPU errors as {@link sequenceLogps}
 */
export async function referenceLogps(ctx: GpuContext, model: GpuModel, acts: Activations, batches: readonly PreferenceBatch[], signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<PairLogps[]> {
  const out: PairLogps[] = [];
  for (const [i, b] of batches.entries()) {
    signal?.throwIfAborted();
    out.push(splitPairs(await sequenceLogps(ctx, model, acts, null, b), b.pairs));
    onProgress?.(i + 1, batches.length);
  }
  return out;
}

/** GPU scratch of preference steps: the per-row scale f32 [maxB·maxT] and the step statistics. */
export interface PrefStepBuffers {
  readonly rowScale: GPUBuffer;
  readonly stats: GPUBuffer;
  destroy(): void;
}

/** Allocates {@link PrefStepBuffers} for activations of up to maxB·maxT rows (4·maxB·maxT + 260 bytes). */
export function createPrefStepBuffers(ctx: GpuContext, acts: Pick<Activations, 'maxB' | 'maxT'>): PrefStepBuffers {
  const rowScale = createStorage(ctx, acts.maxB * acts.maxT * 4, 'pref.row-scale');
  const stats = createStepStats(ctx);
  return { rowScale, stats, destroy: () => { rowScale.destroy(); stats.destroy(); } };
}

/** Result of one preference optimizer step. */
export interface PrefStepResult {
  /** mean over the step's pairs of ℓ (nats for sigmoid) */
  readonly loss: number;
  /** global L2 norm of the LoRA gradients before clipping */
  readonly gradNorm: number;
  /** pairs in the step */
  readonly pairs: number;
  /** tokens (B·T, padding included) processed */
  readonly tokens: number;
  /** policy log-probs of every pair, in micro-batch order, f64 [P_step] */
  readonly policy: PairLogps;
  readonly metrics: PrefMetrics;
}

function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * One preference optimizer step (see the file comment): per micro-batch forward with the adapter, readback of the
 * token NLLs, ℓ and d ℓ / d logp on the CPU, backward with the per-row scale; then clipping and AdamW.
 * @param refs the reference log-probs of each micro-batch (from {@link referenceLogps}); null entries only for
 *   reference-free losses (orpo, simpo)
 * @param signal checked between micro-batches; an aborted step leaves the LoRA parameters and moments unchanged
 * @throws Error when refs and micro differ in length or a needed reference is missing; the preference loss's errors;
 *   GpuCommandError naming the kernel; the signal's reason when aborted
 */
export async function prefTrainStep(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams, micro: readonly PreferenceBatch[], refs: readonly (PairLogps | null)[], opt: OptimStep, pref: PrefLossOptions, buffers: PrefStepBuffers, signal?: AbortSignal): Promise<PrefStepResult> {
  signal?.throwIfAborted();
  if (refs.length !== micro.length) throw new Error(`preference step ${opt.step}: ${refs.length} reference entries for ${micro.length} micro-batches`);
  const needRef = usesReference(pref.lossType);
  const pairsTotal = micro.reduce((a, b) => a + b.pairs, 0);
  if (pairsTotal === 0) throw new Error(`preference step ${opt.step} has no pairs`);
  const policy: Float64Array[][] = [[], []];
  const ref: Float64Array[][] = [[], []];
  const lengths: Float64Array[][] = [[], []];
  let tokens = 0;
  await withErrorScopes(ctx, `preference step ${opt.step}`, () => {
    const zero = ctx.device.createCommandEncoder({ label: 'zero-grads' });
    for (const part of lora.parts) zero.clearBuffer(part.grads);
    ctx.device.queue.submit([zero.finish()]);
  });
  for (const [i, b] of micro.entries()) {
    signal?.throwIfAborted();
    const r = refs[i] ?? null;
    if (needRef && !r) throw new Error(`preference step ${opt.step}: micro-batch ${i + 1} (${b.sources[0] ?? '?'}) has no reference log-probs; pref_loss ${pref.lossType} needs them`);
    const P = b.pairs;
    const M = b.batchSize * b.seqLen;
    const seed = pcgHash((pcgHash(opt.seed ?? 0) ^ pcgHash(opt.step * 4099 + i)) >>> 0);
    const s = { ...uploadBatch(ctx, model, acts, b), dropoutSeed: seed };
    const fwd = await withErrorScopes(ctx, `preference step ${opt.step}`, () => {
      const enc = ctx.device.createCommandEncoder({ label: `pref.forward ${i + 1}/${micro.length}` });
      recordForward(ctx, enc, model, acts, lora, s);
      return enc.finish();
    });
    await submitAndWait(ctx, [fwd]);
    const rows = splitPairs(rowLogps(await readF32(ctx, acts.losses, 0, M), b.batchSize, b.seqLen), P);
    const lc = b.labelCounts.slice(0, P);
    const lr = b.labelCounts.slice(P, 2 * P);
    const res = preferenceLoss({ policyChosen: rows.chosen, policyRejected: rows.rejected, referenceChosen: r?.chosen ?? null, referenceRejected: r?.rejected ?? null, chosenLengths: lc, rejectedLengths: lr }, pref);
    // res.d* include 1/P of this micro-batch's mean; the step's mean over all its pairs wants 1/pairsTotal.
    const w = P / pairsTotal;
    const scale = new Float32Array(M);
    for (let row = 0; row < b.batchSize; row++) {
      const d = row < P ? (res.dPolicyChosen[row] as number) : (res.dPolicyRejected[row - P] as number);
      scale.fill(-d * w, row * b.seqLen, (row + 1) * b.seqLen); // d ℓ / d NLL_t = −d ℓ / d logp_row
    }
    writeBytes(ctx, buffers.rowScale, 0, scale);
    await withErrorScopes(ctx, `preference step ${opt.step}`, () => {
      const enc = ctx.device.createCommandEncoder({ label: `pref.backward ${i + 1}/${micro.length}` });
      recordBackward(ctx, enc, model, acts, lora, s, 1, { rowScale: buffers.rowScale });
      ctx.device.queue.submit([enc.finish()]);
    });
    policy[0]!.push(rows.chosen);
    policy[1]!.push(rows.rejected);
    if (r) {
      ref[0]!.push(r.chosen);
      ref[1]!.push(r.rejected);
    }
    lengths[0]!.push(Float64Array.from(lc));
    lengths[1]!.push(Float64Array.from(lr));
    tokens += M;
  }
  signal?.throwIfAborted();
  const normSq = { buffer: buffers.stats, offset: NORM_OFFSET, size: 4 };
  const enc = ctx.device.createCommandEncoder({ label: 'pref.optimizer' });
  recordClipAdamW(ctx, enc, lora, opt, normSq);
  await submitAndWait(ctx, [enc.finish()]);
  const gradNorm = Math.sqrt((await readF32(ctx, buffers.stats, NORM_OFFSET / 4, 1))[0] as number);
  const all = { chosen: concat(policy[0]!), rejected: concat(policy[1]!) };
  const total = preferenceLoss({
    policyChosen: all.chosen, policyRejected: all.rejected,
    referenceChosen: needRef ? concat(ref[0]!) : null, referenceRejected: needRef ? concat(ref[1]!) : null,
    chosenLengths: concat(lengths[0]!), rejectedLengths: concat(lengths[1]!),
  }, pref);
  return { loss: total.loss, gradNorm, pairs: pairsTotal, tokens, policy: all, metrics: total.metrics };
}
