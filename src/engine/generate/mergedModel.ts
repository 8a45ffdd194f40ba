/**
 * A runnable model whose weights are exactly those of the exported merge (Shadow-FT §3.1: W_I' = W_I + s·B·A for
 * every targeted weight, merged in f32 and rounded to the stored dtype, BF16 round-to-nearest-even; untargeted
 * tensors byte for byte): the safetensors files of graft/mergedModel.ts planMergedModel are produced in memory and
 * loaded like any checkpoint. So "generate from the exported BF16 merge" runs the very bytes a user downloads,
 * while "Instruct + grafted LoRA (f32)" is the Instruct model with the LoRA applied on the fly (GenerateOptions.lora).
 * Memory: the merged tensors are held once on the CPU while they upload (the size of the model's weight files).
 */
import { openCheckpoint, type ModelFiles } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { outputFileBlob, planMergedModel } from '../graft/mergedModel';
import { checkAdapterFitsModel } from '../model/loraFromAdapter';
import type { LoraAdapter } from '../model/loraTypes';
import { makeGpuModel, type GpuModel } from '../model/model';
import { loadModelWeights } from '../model/weights';
import type { Checkpoint } from '../../io/checkpoint';

/** Options of {@link loadMergedModel}. */
export interface MergedModelOptions {
  readonly signal?: AbortSignal;
  /** bytes of merged tensors produced so far / total */
  onProgress?(done: number, total: number): void;
}

/**
 * Builds the merged model's safetensors in memory and uploads it.
 * @param cfg the Instruct model's config (app/loadModel.ts LoadedModel.config)
 * @returns the model (destroy with destroyGpuModel) and the merged checkpoint (for CPU checks)
 * @throws LoraError / AdapterError when the adapter does not fit the model (names the tensor); WeightShapeError,
 *   CheckpointError as loading any model; DeviceLimitError when a weight cannot fit the GPU.
 */
export async function loadMergedModel(ctx: GpuContext, instruct: ModelFiles, cfg: ModelConfig, adapter: LoraAdapter, opts: MergedModelOptions = {}): Promise<{ model: GpuModel; checkpoint: Checkpoint }> {
  checkAdapterFitsModel(cfg, adapter);
  const plan = await planMergedModel(instruct, adapter, { ...(opts.signal ? { signal: opts.signal } : {}), onProgress: (p) => opts.onProgress?.(p.bytesDone, p.bytesTotal) });
  const files = new Map<string, Blob>();
  for (const f of plan.files) if (/\.safetensors(\.index\.json)?$/.test(f.name)) files.set(f.name, await outputFileBlob(f));
  const checkpoint = await openCheckpoint({ name: `${instruct.name} + merged LoRA`, files });
  return { model: makeGpuModel(cfg, await loadModelWeights(ctx, cfg, checkpoint)), checkpoint };
}
