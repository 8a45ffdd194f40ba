/**
 * Dropout on the LoRA branch input (PEFT lora.Linear: lora_B(lora_A(dropout(x)))), forward and backward.
 * The mask is a counter-based hash of (seed, element index), so backward and recompute regenerate it.
 * Shader: shaders/dropout.wgsl; CPU reference: src/engine/reference/dropout.ts.
 */
import code from '../../../shaders/dropout.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';
import { dropoutThreshold } from '../train/rng';

const WG = 256;
const bindings = ['uniform', 'read', 'rw'] as const;
const fwd: KernelSpec = { label: 'dropout.forward', code, entryPoint: 'forward', bindings: [...bindings], constants: { WG } };
const bwd: KernelSpec = { label: 'dropout.backward', code, entryPoint: 'backward', bindings: [...bindings], constants: { WG } };

/** Dropout of n f32 values with probability p (0 ≤ p < 1) and a u32 seed. */
export interface DropoutArgs {
  readonly n: number;
  readonly p: number;
  readonly seed: number;
}

function params(ctx: GpuContext, a: DropoutArgs): GPUBuffer {
  if (!(a.p >= 0 && a.p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${a.p}`);
  return uniform(ctx, packUniform([{ u32: a.n }, { u32: a.seed >>> 0 }, { u32: dropoutThreshold(a.p) }, { f32: 1 / (1 - a.p) }]), 'dropout.params');
}

/** Records out = dropout(x): x, out f32 [n]. */
export function dropoutForward(ctx: GpuContext, enc: GPUCommandEncoder, a: DropoutArgs & { x: Binding; out: Binding }): void {
  dispatch(ctx, enc, fwd, [params(ctx, a), a.x, a.out], linearGrid(ctx, a.n, WG));
}

/** Records dx += mask ⊙ dy / (1 − p): dy, dx f32 [n] (same seed and n as the forward). */
export function dropoutBackward(ctx: GpuContext, enc: GPUCommandEncoder, a: DropoutArgs & { dy: Binding; dx: Binding }): void {
  dispatch(ctx, enc, bwd, [params(ctx, a), a.dy, a.dx], linearGrid(ctx, a.n, WG));
}
