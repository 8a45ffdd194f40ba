/**
 * LoRA parameters of every targeted decoder linear, in ONE flat f32 buffer (plus grads and AdamW moments of the
 * same layout), so clipping and AdamW are single dispatches. Each tensor starts at a multiple of 64 floats
 * (256 bytes = minStorageBufferOffsetAlignment) so it can be bound as a sub-range.
 * PEFT semantics (peft/tuners/lora/layer.py): y = x Wᵀ + b + s·(x Aᵀ) Bᵀ, A [R, in], B [out, R],
 * init A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0; s = α/R (rsLoRA: α/√R).
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { createStorage, readF32, roundUp, writeBytes } from '../gpu/buffers';
import type { Binding } from '../gpu/pipeline';
import { loraScaling, type LoraAdapter, type LoraModuleWeights, type LoraSettings, type TargetModule } from '../train/types';
import { makeRng } from '../train/rng';
import { linearShape, modulePath } from './weights';

/** Where one module's lora_A / lora_B live in the flat buffers (offsets and counts in floats). */
export interface LoraSlot {
  readonly path: string;
  readonly layer: number;
  readonly module: TargetModule;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly aOffset: number;
  readonly bOffset: number;
}

/** LoRA parameters, gradients and AdamW moments on the GPU. */
export interface LoraParams {
  readonly settings: LoraSettings;
  /** R */
  readonly r: number;
  /** s = α/R or α/√R */
  readonly scaling: number;
  readonly slots: readonly LoraSlot[];
  /** total floats per flat buffer, padding included */
  readonly numel: number;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  destroy(): void;
}

/** Thrown for invalid LoRA settings or init tensors; names the module and the expected shape. */
export class LoraError extends Error {
  override name = 'LoraError';
}

const ALIGN = 64;

/** Slot of (layer, module), or undefined when that module is not targeted. */
export function findSlot(p: LoraParams, layer: number, module: TargetModule): LoraSlot | undefined {
  return p.slots.find((s) => s.layer === layer && s.module === module);
}

/** Sub-range binding of lora_A ([R, in]) or lora_B ([out, R]) of a slot in one of the flat buffers. */
export function slotBinding(buf: GPUBuffer, slot: LoraSlot, which: 'a' | 'b', r: number): Binding {
  const count = which === 'a' ? r * slot.inFeatures : slot.outFeatures * r;
  return { buffer: buf, offset: (which === 'a' ? slot.aOffset : slot.bOffset) * 4, size: count * 4 };
}

/** Lays out the slots for `cfg` and `settings` (layer-major, then module order of settings.targetModules). */
export function layoutSlots(cfg: ModelConfig, settings: LoraSettings): { slots: LoraSlot[]; numel: number } {
  const r = settings.r;
  if (!Number.isInteger(r) || r < 1) throw new LoraError(`LoRA rank must be a positive integer, got ${r}`);
  if (settings.targetModules.length === 0) throw new LoraError('LoRA needs at least one target module');
  const slots: LoraSlot[] = [];
  let off = 0;
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const module of settings.targetModules) {
      const [outFeatures, inFeatures] = linearShape(cfg, module);
      const aOffset = off;
      off = roundUp(off + r * inFeatures, ALIGN);
      const bOffset = off;
      off = roundUp(off + outFeatures * r, ALIGN);
      slots.push({ path: modulePath(layer, module), layer, module, inFeatures, outFeatures, aOffset, bOffset });
    }
  }
  return { slots, numel: Math.max(off, ALIGN) };
}

/**
 * Allocates and initialises LoRA parameters.
 * @param init 'peft' (A kaiming-uniform a=√5 from `seed`, B = 0) or explicit tensors per module path
 *   (e.g. from a fixture or a saved adapter); every targeted module must be present with A [R, in], B [out, R].
 * @throws LoraError for a bad rank, an empty target list, or a missing/mis-shaped init tensor.
 */
export function createLoraParams(ctx: GpuContext, cfg: ModelConfig, settings: LoraSettings, init: { seed: number } | ReadonlyMap<string, LoraModuleWeights>): LoraParams {
  const { slots, numel } = layoutSlots(cfg, settings);
  const r = settings.r;
  const host = new Float32Array(numel);
  const rng = 'seed' in init ? makeRng(init.seed) : null;
  for (const s of slots) {
    if (rng) {
      const bound = 1 / Math.sqrt(s.inFeatures);
      for (let i = 0; i < r * s.inFeatures; i++) host[s.aOffset + i] = (rng() * 2 - 1) * bound;
    } else {
      const w = (init as ReadonlyMap<string, LoraModuleWeights>).get(s.path);
      if (!w) throw new LoraError(`LoRA init: no tensors for ${s.path}`);
      if (w.a.length !== r * s.inFeatures) throw new LoraError(`LoRA init: ${s.path}.lora_A has ${w.a.length} values, expected [${r}, ${s.inFeatures}]`);
      if (w.b.length !== s.outFeatures * r) throw new LoraError(`LoRA init: ${s.path}.lora_B has ${w.b.length} values, expected [${s.outFeatures}, ${r}]`);
      host.set(w.a, s.aOffset);
      host.set(w.b, s.bOffset);
    }
  }
  const bytes = numel * 4;
  const params = createStorage(ctx, bytes, 'lora.params');
  writeBytes(ctx, params, 0, host);
  const grads = createStorage(ctx, bytes, 'lora.grads');
  const m = createStorage(ctx, bytes, 'lora.adam_m');
  const v = createStorage(ctx, bytes, 'lora.adam_v');
  return {
    settings,
    r,
    scaling: loraScaling(settings),
    slots,
    numel,
    params,
    grads,
    m,
    v,
    destroy: () => [params, grads, m, v].forEach((b) => b.destroy()),
  };
}

/** Reads one flat buffer (params or grads) back as per-module tensors keyed by HF module path. */
export async function readLoraTensors(ctx: GpuContext, p: LoraParams, buf: GPUBuffer = p.params): Promise<Map<string, LoraModuleWeights>> {
  const all = await readF32(ctx, buf, 0, p.numel);
  const out = new Map<string, LoraModuleWeights>();
  for (const s of p.slots) {
    out.set(s.path, {
      a: all.slice(s.aOffset, s.aOffset + p.r * s.inFeatures),
      b: all.slice(s.bOffset, s.bOffset + s.outFeatures * p.r),
      inFeatures: s.inFeatures,
      outFeatures: s.outFeatures,
    });
  }
  return out;
}

/** Reads the trained adapter (settings + weights) back to the CPU. */
export async function readLoraAdapter(ctx: GpuContext, p: LoraParams): Promise<LoraAdapter> {
  return { settings: p.settings, modules: await readLoraTensors(ctx, p) };
}
