/**
 * LoRA parameters on the GPU (lora.ts) from a {@link LoraAdapter}: a PEFT adapter read from disk
 * (graft/adapterFiles.ts readAdapterFiles) or one just trained (readLoraAdapter). Every module is checked against
 * the model's shapes first, so an adapter for another model is refused with the tensor named. A targeted module
 * that the adapter lacks in some layer (PEFT `layers_to_transform`) gets lora_A = lora_B = 0, i.e. no update, as
 * PEFT leaves such layers untouched.
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { createLoraParams, LoraError, type LoraParams } from './lora';
import type { LoraAdapter, LoraModuleWeights } from './loraTypes';
import { linearShape, modulePath } from './weights';

/**
 * Checks every module of `adapter` against `cfg`: a decoder linear of an existing layer, targeted by the adapter's
 * settings, with lora_A [r, in] and lora_B [out, r] of the model's in/out features.
 * @throws LoraError naming the PEFT tensor (`base_model.model.<path>.lora_A.weight`), the expected and the actual shape
 */
export function checkAdapterFitsModel(cfg: ModelConfig, adapter: LoraAdapter): void {
  const { r, targetModules } = adapter.settings;
  const known = new Map<string, [number, number]>();
  for (let l = 0; l < cfg.numLayers; l++) for (const m of targetModules) known.set(modulePath(l, m), linearShape(cfg, m));
  for (const [path, w] of adapter.modules) {
    const shape = known.get(path);
    const key = (x: 'A' | 'B') => `base_model.model.${path}.lora_${x}.weight`;
    if (!shape) throw new LoraError(`${key('A')}: the model has no targeted module ${path} (${cfg.numLayers} layers; target_modules ${targetModules.join(', ')})`);
    const [out, inF] = shape;
    if (w.inFeatures !== inF || w.a.length !== r * inF) throw new LoraError(`${key('A')} is [${w.a.length / Math.max(1, w.inFeatures)}, ${w.inFeatures}] but this model needs [${r}, ${inF}] (r = ${r}, in_features of ${path} = ${inF})`);
    if (w.outFeatures !== out || w.b.length !== out * r) throw new LoraError(`${key('B')} is [${w.outFeatures}, ${w.b.length / Math.max(1, w.outFeatures)}] but this model needs [${out}, ${r}] (out_features of ${path} = ${out}, r = ${r})`);
  }
}

/**
 * Uploads an adapter as LoRA parameters for `cfg` (layout of lora.ts; scaling from its settings: α/r or α/√r).
 * @throws LoraError as {@link checkAdapterFitsModel}, and as createLoraParams (bad rank, device limits)
 */
export function loraParamsFromAdapter(ctx: GpuContext, cfg: ModelConfig, adapter: LoraAdapter): LoraParams {
  checkAdapterFitsModel(cfg, adapter);
  const { r, targetModules } = adapter.settings;
  const init = new Map<string, LoraModuleWeights>(adapter.modules);
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const m of targetModules) {
      const path = modulePath(l, m);
      if (init.has(path)) continue;
      const [out, inF] = linearShape(cfg, m);
      init.set(path, { a: new Float32Array(r * inF), b: new Float32Array(out * r), inFeatures: inF, outFeatures: out });
    }
  }
  return createLoraParams(ctx, cfg, adapter.settings, init);
}
