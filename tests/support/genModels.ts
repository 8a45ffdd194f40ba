/**
 * Test helpers for generation: a model folder loaded on the GPU and as the CPU reference (engine/reference/model.ts),
 * and a random LoRA adapter with non-zero lora_B (so it changes the outputs).
 */
import type { ModelConfig } from '../../src/io/config/types';
import type { GpuContext } from '../../src/engine/gpu/context';
import { loadModelFolder } from '../../src/app/loadModel';
import { makeGpuModel, type GpuModel } from '../../src/engine/model/model';
import { loadModelWeights, linearShape, modulePath } from '../../src/engine/model/weights';
import { loadRefModel, type RefModel } from '../../src/engine/reference/model';
import { TARGET_MODULES, type LoraAdapter, type LoraModuleWeights } from '../../src/engine/model/loraTypes';
import { makeRng } from '../../src/engine/train/rng';
import { modelFilesFromDir } from '../../src/node/files';
import type { ModelFiles } from '../../src/io/checkpoint';

/** A model on the GPU and on the CPU. */
export interface LoadedPair {
  readonly files: ModelFiles;
  readonly cfg: ModelConfig;
  readonly gpu: GpuModel;
  readonly ref: RefModel;
}

/** Loads `dir` (validated like a drop) onto the GPU and as the f32 CPU reference. */
export async function loadPair(ctx: GpuContext, dir: string): Promise<LoadedPair> {
  const files = await modelFilesFromDir(dir);
  const m = await loadModelFolder(files);
  const gpu = makeGpuModel(m.config, await loadModelWeights(ctx, m.config, m.checkpoint));
  return { files, cfg: m.config, gpu, ref: await loadRefModel(m.config, m.checkpoint) };
}

/** A rank-r adapter on all seven modules with A, B ~ U(−scale, scale) from `seed` (B non-zero, unlike PEFT init). */
export function randomAdapter(cfg: ModelConfig, r: number, alpha: number, seed: number, scale = 0.2): LoraAdapter {
  const rng = makeRng(seed);
  const modules = new Map<string, LoraModuleWeights>();
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const m of TARGET_MODULES) {
      const [out, inF] = linearShape(cfg, m);
      const a = Float32Array.from({ length: r * inF }, () => (rng() * 2 - 1) * scale);
      const b = Float32Array.from({ length: out * r }, () => (rng() * 2 - 1) * scale);
      modules.set(modulePath(l, m), { a, b, inFeatures: inF, outFeatures: out });
    }
  }
  return { settings: { r, alpha, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] }, modules };
}
