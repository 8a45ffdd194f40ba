/**
 * LoRA parameters of every targeted decoder linear in flat f32 buffers (plus grads and AdamW moments of the same
 * layout), so clipping and AdamW are a few dispatches. Each tensor starts at a multiple of 64 floats
 * (256 bytes = minStorageBufferOffsetAlignment) so it can be bound as a sub-range. The layout is ONE part unless it
 * exceeds one storage binding (min(maxBufferSize, maxStorageBufferBindingSize)); then slots are packed, in order,
 * into several parts (each part = 4 buffers: params, grads, m, v), none above the limit.
 * PEFT semantics (peft/tuners/lora/layer.py): y = x Wᵀ + b + s·(x Aᵀ) Bᵀ, A [R, in], B [out, R],
 * init A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0; s = α/R (rsLoRA: α/√R).
 */
import type { ModelConfig } from '../../io/config/types';
import type { DeviceLimits, GpuContext } from '../gpu/context';
import { createStorage, readF32, roundUp, writeBytes } from '../gpu/buffers';
import type { Binding } from '../gpu/pipeline';
import { loraScaling, type LoraAdapter, type LoraModuleWeights, type LoraSettings, type TargetModule } from './loraTypes';
import { makeRng } from '../train/rng';
import { linearShape, modulePath } from './weights';

/** Where one module's lora_A / lora_B live in the flat buffers (part index; offsets and counts in floats). */
export interface LoraSlot {
  readonly path: string;
  readonly layer: number;
  readonly module: TargetModule;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** index into LoraParams.parts */
  readonly part: number;
  /** offsets inside the part's buffers */
  readonly aOffset: number;
  readonly bOffset: number;
}

/** One part of the flat layout: `numel` floats in each of four buffers. */
export interface LoraPart {
  readonly numel: number;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  /** AdamW exp_avg */
  readonly m: GPUBuffer;
  /** AdamW exp_avg_sq */
  readonly v: GPUBuffer;
}

/** Which of a part's four buffers. */
export type LoraBufferKind = 'params' | 'grads' | 'm' | 'v';

/** LoRA parameters, gradients and AdamW moments on the GPU. */
export interface LoraParams {
  readonly settings: LoraSettings;
  /** R */
  readonly r: number;
  /** s = α/R or α/√R */
  readonly scaling: number;
  readonly slots: readonly LoraSlot[];
  /** total floats per kind over all parts, padding included */
  readonly numel: number;
  readonly parts: readonly LoraPart[];
  /** bytes allocated (4 kinds × every part) */
  readonly bytes: number;
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

/** Sub-range binding of lora_A ([R, in]) or lora_B ([out, R]) of a slot in `buf`, a buffer of the slot's part. */
export function slotBinding(buf: GPUBuffer, slot: LoraSlot, which: 'a' | 'b', r: number): Binding {
  const count = which === 'a' ? r * slot.inFeatures : slot.outFeatures * r;
  return { buffer: buf, offset: (which === 'a' ? slot.aOffset : slot.bOffset) * 4, size: count * 4 };
}

/** Binding of a slot's lora_A / lora_B in the params, grads or moment buffers of its part. */
export function loraBinding(p: LoraParams, slot: LoraSlot, which: 'a' | 'b', kind: LoraBufferKind = 'params'): Binding {
  const part = p.parts[slot.part];
  if (!part) throw new LoraError(`${slot.path}: part ${slot.part} does not exist (${p.parts.length} parts)`);
  return slotBinding(part[kind], slot, which, p.r);
}

/**
 * Lays out the slots for `cfg` and `settings` (layer-major, then module order of settings.targetModules), packing
 * them in order into parts of at most `maxPartFloats` floats.
 * @returns slots, floats per part (each ≥ 64) and their total.
 * @throws LoraError for a bad rank or target list, or when one module's lora_A + lora_B exceed maxPartFloats
 *   (names the module, the bytes and the limit: lower the rank).
 */
export function layoutSlots(cfg: ModelConfig, settings: LoraSettings, maxPartFloats = Number.MAX_SAFE_INTEGER): { slots: LoraSlot[]; parts: number[]; numel: number } {
  const r = settings.r;
  if (!Number.isInteger(r) || r < 1) throw new LoraError(`LoRA rank must be a positive integer, got ${r}`);
  if (settings.targetModules.length === 0) throw new LoraError('LoRA needs at least one target module');
  const slots: LoraSlot[] = [];
  const parts: number[] = [];
  let off = 0;
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const module of settings.targetModules) {
      const [outFeatures, inFeatures] = linearShape(cfg, module);
      const aFloats = roundUp(r * inFeatures, ALIGN);
      const size = aFloats + roundUp(outFeatures * r, ALIGN);
      const path = modulePath(layer, module);
      if (size > maxPartFloats) throw new LoraError(`${path}: lora_A + lora_B at rank ${r} need ${size * 4} bytes, over this GPU's storage binding limit of ${maxPartFloats * 4} bytes; lower the rank`);
      if (off + size > maxPartFloats) {
        parts.push(off);
        off = 0;
      }
      slots.push({ path, layer, module, inFeatures, outFeatures, part: parts.length, aOffset: off, bOffset: off + aFloats });
      off += size;
    }
  }
  parts.push(Math.max(off, ALIGN));
  return { slots, parts, numel: parts.reduce((a, b) => a + b, 0) };
}

/** Floats one LoRA part may hold on this device: one storage binding, a multiple of 64 floats. */
export function loraPartFloats(limits: Pick<DeviceLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>): number {
  return Math.floor(Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize) / 4 / ALIGN) * ALIGN;
}

/**
 * Allocates and initialises LoRA parameters.
 * @param init 'peft' (A kaiming-uniform a=√5 from `seed`, B = 0) or explicit tensors per module path
 *   (e.g. from a fixture or a saved adapter); every targeted module must be present with A [R, in], B [out, R].
 * @throws LoraError for a bad rank, an empty target list, or a missing/mis-shaped init tensor.
 */
export function createLoraParams(ctx: GpuContext, cfg: ModelConfig, settings: LoraSettings, init: { seed: number } | ReadonlyMap<string, LoraModuleWeights>): LoraParams {
  const { slots, parts: sizes, numel } = layoutSlots(cfg, settings, loraPartFloats(ctx.limits));
  const r = settings.r;
  const hosts = sizes.map((n) => new Float32Array(n));
  const rng = 'seed' in init ? makeRng(init.seed) : null;
  for (const s of slots) {
    const host = hosts[s.part] as Float32Array;
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
  const owned: GPUBuffer[] = [];
  const make = (n: number, label: string) => {
    const b = createStorage(ctx, n * 4, label);
    owned.push(b);
    return b;
  };
  const parts: LoraPart[] = [];
  try {
    sizes.forEach((n, k) => {
      const tag = sizes.length === 1 ? '' : `.part${k}`;
      const params = make(n, `lora.params${tag}`);
      writeBytes(ctx, params, 0, hosts[k] as Float32Array);
      parts.push({ numel: n, params, grads: make(n, `lora.grads${tag}`), m: make(n, `lora.adam_m${tag}`), v: make(n, `lora.adam_v${tag}`) });
    });
  } catch (e) {
    owned.forEach((b) => b.destroy());
    throw e;
  }
  return {
    settings,
    r,
    scaling: loraScaling(settings),
    slots,
    numel,
    parts,
    bytes: owned.reduce((a, b) => a + b.size, 0),
    destroy: () => owned.forEach((b) => b.destroy()),
  };
}

/** Reads one kind of flat buffer (params, grads, m or v) back as per-module tensors keyed by HF module path. */
export async function readLoraTensors(ctx: GpuContext, p: LoraParams, kind: LoraBufferKind = 'params'): Promise<Map<string, LoraModuleWeights>> {
  const parts: Float32Array[] = [];
  for (const part of p.parts) parts.push(await readF32(ctx, part[kind], 0, part.numel));
  const out = new Map<string, LoraModuleWeights>();
  for (const s of p.slots) {
    const all = parts[s.part] as Float32Array;
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

/**
 * Writes per-module tensors (keyed by HF module path, as {@link readLoraTensors} returns them) into one kind of flat
 * buffer (e.g. the AdamW moments of a resumed run); padding between tensors is left as it is (zero).
 * @throws LoraError when a targeted module is missing or its lora_A / lora_B length is not [R, in] / [out, R].
 */
export function writeLoraTensors(ctx: GpuContext, p: LoraParams, kind: LoraBufferKind, tensors: ReadonlyMap<string, LoraModuleWeights>): void {
  for (const s of p.slots) {
    const w = tensors.get(s.path);
    if (!w) throw new LoraError(`LoRA ${kind}: no tensors for ${s.path}`);
    if (w.a.length !== p.r * s.inFeatures) throw new LoraError(`LoRA ${kind}: ${s.path}.lora_A has ${w.a.length} values, expected [${p.r}, ${s.inFeatures}]`);
    if (w.b.length !== s.outFeatures * p.r) throw new LoraError(`LoRA ${kind}: ${s.path}.lora_B has ${w.b.length} values, expected [${s.outFeatures}, ${p.r}]`);
    const buf = (p.parts[s.part] as LoraPart)[kind];
    writeBytes(ctx, buf, s.aOffset * 4, w.a);
    writeBytes(ctx, buf, s.bOffset * 4, w.b);
  }
}
