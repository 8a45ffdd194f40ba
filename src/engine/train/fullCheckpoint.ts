/**
 * The resumable state of a full-parameter run (finetuning_type full, train/runFull.ts) on the CPU: the f32 masters
 * W_B′ and the AdamW moments exp_avg / exp_avg_sq of every trainable tensor, by HF name — 12 bytes per trainable
 * parameter ({@link FULL_CHECKPOINT_BYTES_PER_PARAM}). A frozen embedding (trainEmbeddings false) is not kept: a
 * resumed run reads it from the Base again. With the step, the settings and the data identity this is the whole
 * state (train/checkpoint.ts explains why: the data order, the schedule and AdamW's bias correction are functions of
 * the settings and the step; a full run draws no random numbers).
 */
import type { GpuContext } from '../gpu/context';
import { readFullTensors, writeFullTensors, type FullParams } from '../model/fullParams';
import { FULL_CHECKPOINT_BYTES_PER_PARAM, type FullState } from './checkpoint';

/**
 * Bytes of a full-parameter checkpoint file: 12 per trainable parameter plus a header allowance of 64 KiB.
 * @param trainableParams trainable parameter count (plan/fullMemory.ts `trainableParams`)
 */
export function fullCheckpointBytes(trainableParams: number): number {
  return trainableParams * FULL_CHECKPOINT_BYTES_PER_PARAM + (1 << 16);
}

/**
 * Reads the masters and both moments of every trainable tensor back from the GPU (f32, by HF name).
 * @param masters the masters read earlier (W_B′), used instead of the GPU's 'params' (which then hold a graft)
 */
export async function captureFullState(ctx: GpuContext, full: FullParams, masters?: ReadonlyMap<string, Float32Array>): Promise<FullState> {
  const shapes = new Map(full.tensors.filter((t) => t.trainable).map((t) => [t.spec.name, t.spec.shape] as const));
  const params = new Map([...(masters ?? (await readFullTensors(ctx, full, 'params')))].filter(([n]) => shapes.has(n)));
  return { shapes, params, m: await readFullTensors(ctx, full, 'm'), v: await readFullTensors(ctx, full, 'v') };
}

/**
 * Writes a saved state into freshly created full parameters (a resumed run).
 * @throws Error naming the tensor when the state lacks a trainable tensor of this run, holds one this run does not
 *   train (e.g. embed_tokens with Train embeddings off), or a tensor's length differs from the table's shape.
 */
export function restoreFullState(ctx: GpuContext, full: FullParams, state: FullState): void {
  const mine = new Set(full.tensors.filter((t) => t.trainable).map((t) => t.spec.name));
  for (const name of state.params.keys()) if (!mine.has(name)) throw new Error(`checkpoint: tensor ${name} is trained in the checkpoint but not in this run (Train embeddings differs?)`);
  const params = new Map([...state.params].filter(([n]) => mine.has(n)));
  writeFullTensors(ctx, full, 'params', params);
  writeFullTensors(ctx, full, 'm', state.m);
  writeFullTensors(ctx, full, 'v', state.v);
}
