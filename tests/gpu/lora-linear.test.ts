/**
 * The fused LoRA linear (src/engine/model/linear.ts: u and du by the thin kernel, y and dx in one `lora` pass) against
 * (1) an f64 CPU reference of the unfused maths (PEFT lora.Linear: y = x Wᵀ + b + s·(x Aᵀ) Bᵀ and its backward) and
 * (2) the unfused GPU path it replaced (six tiled matmuls), bit for bit: every part is the same fma sequence.
 * Shapes are off every tile (64×64×16) and thin-kernel (16) multiple; R 17 takes the tiled path for u and two R steps.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { uploadWeight } from '../../src/engine/gpu/weights';
import { matmul } from '../../src/engine/kernels/matmul';
import { matmulRef, type MatmulRefArgs } from '../../src/engine/reference/matmul';
import { linearBackward, linearForward, type LoraBranch } from '../../src/engine/model/linear';
import type { LoraParams, LoraSlot } from '../../src/engine/model/lora';
import type { LinearWeights } from '../../src/engine/model/weights';
import { decodeToF32, encodeFromF32, type WeightDType } from '../../src/io/dtype';

interface Case { M: number; IN: number; OUT: number; R: number; dtype: WeightDType; bias: boolean; accY: boolean; accDx: boolean; s: number }

const CASES: Case[] = [
  { M: 37, IN: 70, OUT: 45, R: 5, dtype: 'BF16', bias: true, accY: false, accDx: false, s: 2 },
  { M: 130, IN: 33, OUT: 129, R: 8, dtype: 'F16', bias: false, accY: true, accDx: true, s: 0.75 },
  { M: 65, IN: 17, OUT: 20, R: 17, dtype: 'F32', bias: true, accY: true, accDx: false, s: 1.5 },
];

/** A one-slot LoraParams over given buffers (A at offset 0, B at the next multiple of 64 floats), as lora.ts lays them out. */
function oneSlot(ctx: GpuContext, c: Case, A: Float32Array, B: Float32Array, dA0: Float32Array, dB0: Float32Array): { p: LoraParams; slot: LoraSlot } {
  const bOffset = Math.ceil((c.R * c.IN) / 64) * 64;
  const numel = bOffset + c.OUT * c.R;
  const pack = (a: Float32Array, b: Float32Array, label: string): GPUBuffer => {
    const all = new Float32Array(numel);
    all.set(a);
    all.set(b, bOffset);
    return uploadStorage(ctx, all, label);
  };
  const slot: LoraSlot = { path: 'model.layers.0.self_attn.q_proj', layer: 0, module: 'q_proj', inFeatures: c.IN, outFeatures: c.OUT, part: 0, aOffset: 0, bOffset };
  const part = { numel, params: pack(A, B, 'lora.params'), grads: pack(dA0, dB0, 'lora.grads'), m: createStorage(ctx, numel * 4, 'm'), v: createStorage(ctx, numel * 4, 'v') };
  const p: LoraParams = {
    settings: { r: c.R, alpha: c.s * c.R, dropout: 0, useRslora: false, targetModules: ['q_proj'] },
    r: c.R, scaling: c.s, slots: [slot], numel, parts: [part], bytes: numel * 16, destroy: () => undefined,
  };
  return { p, slot };
}

/** |ref| computed from absolute values: the size f32 rounding errors scale with. */
function scaleOf(f: (abs: boolean) => Float64Array): number {
  return f(true).reduce((m, v) => Math.max(m, v), 1e-30);
}

describe('fused LoRA linear (forward + backward)', () => {
  it.each(CASES)('M=$M in=$IN out=$OUT R=$R $dtype bias=$bias accY=$accY accDx=$accDx: f64 reference and the unfused GPU path', async (c) => {
    const ctx = await testGpu();
    const seed = c.M * 31 + c.IN + c.R;
    const x = randomF32(c.M * c.IN, seed);
    const wBytes = encodeFromF32(randomF32(c.OUT * c.IN, seed + 1), c.dtype);
    const W = decodeToF32(wBytes, c.dtype);
    const A = randomF32(c.R * c.IN, seed + 2);
    const B = randomF32(c.OUT * c.R, seed + 3);
    const bias = c.bias ? randomF32(c.OUT, seed + 4) : undefined;
    const y0 = randomF32(c.M * c.OUT, seed + 5);
    const dy = randomF32(c.M * c.OUT, seed + 6);
    const dx0 = randomF32(c.M * c.IN, seed + 7);
    const dA0 = randomF32(c.R * c.IN, seed + 8);
    const dB0 = randomF32(c.OUT * c.R, seed + 9);

    const lin: LinearWeights = { name: 'q_proj', w: uploadWeight(ctx, wBytes, c.dtype, [c.OUT, c.IN], 'W'), bias: bias ? uploadStorage(ctx, bias, 'bias') : null, inFeatures: c.IN, outFeatures: c.OUT };
    const xb = uploadStorage(ctx, x, 'x');
    const dyb = uploadStorage(ctx, dy, 'dy');
    // Fused path (the model's).
    const fused = oneSlot(ctx, c, A, B, dA0, dB0);
    const branch: LoraBranch = { p: fused.p, slot: fused.slot, u: createStorage(ctx, c.M * c.R * 4, 'u') };
    const y = uploadStorage(ctx, y0, 'y');
    const dx = uploadStorage(ctx, dx0, 'dx');
    const du = createStorage(ctx, c.M * c.R * 4, 'du');
    // Unfused path (six tiled matmuls, as before the fusion).
    const old = oneSlot(ctx, c, A, B, dA0, dB0);
    const [oA, oB] = [{ buffer: old.p.parts[0]!.params, offset: 0, size: c.R * c.IN * 4 }, { buffer: old.p.parts[0]!.params, offset: old.slot.bOffset * 4, size: c.OUT * c.R * 4 }];
    const [gA, gB] = [{ buffer: old.p.parts[0]!.grads, offset: 0, size: c.R * c.IN * 4 }, { buffer: old.p.parts[0]!.grads, offset: old.slot.bOffset * 4, size: c.OUT * c.R * 4 }];
    const yO = uploadStorage(ctx, y0, 'yO'), dxO = uploadStorage(ctx, dx0, 'dxO'), uO = createStorage(ctx, c.M * c.R * 4, 'uO'), duO = createStorage(ctx, c.M * c.R * 4, 'duO');

    const enc = ctx.device.createCommandEncoder();
    linearForward(ctx, enc, c.M, lin, xb, y, branch, c.accY);
    linearBackward(ctx, enc, c.M, lin, xb, dyb, dx, branch, du, c.accDx);
    const w = lin.w.buffer;
    matmul(ctx, enc, { M: c.M, N: c.OUT, K: c.IN, a: xb, w, wDtype: c.dtype, transB: true, out: yO, accumulate: c.accY, ...(lin.bias ? { bias: lin.bias } : {}) });
    matmul(ctx, enc, { M: c.M, N: c.R, K: c.IN, a: xb, w: oA, wDtype: 'F32', transB: true, out: uO });
    matmul(ctx, enc, { M: c.M, N: c.OUT, K: c.R, a: uO, w: oB, wDtype: 'F32', transB: true, out: yO, accumulate: true, alpha: c.s });
    matmul(ctx, enc, { M: c.M, N: c.IN, K: c.OUT, a: dyb, w, wDtype: c.dtype, transB: false, out: dxO, accumulate: c.accDx });
    matmul(ctx, enc, { M: c.OUT, N: c.R, K: c.M, a: dyb, transA: true, w: uO, wDtype: 'F32', transB: false, out: gB, accumulate: true, alpha: c.s });
    matmul(ctx, enc, { M: c.M, N: c.R, K: c.OUT, a: dyb, w: oB, wDtype: 'F32', transB: false, out: duO, alpha: c.s });
    matmul(ctx, enc, { M: c.R, N: c.IN, K: c.M, a: duO, transA: true, w: xb, wDtype: 'F32', transB: false, out: gA, accumulate: true });
    matmul(ctx, enc, { M: c.M, N: c.IN, K: c.R, a: duO, w: oA, wDtype: 'F32', transB: false, out: dxO, accumulate: true });
    await submitAndWait(ctx, [enc.finish()]);

    // f64 reference of the unfused maths; `abs` gives the error scale (same formulas on |values|).
    const ab = (v: ArrayLike<number> | undefined, abs: boolean): ArrayLike<number> | undefined => (v && abs ? Array.from(v, Math.abs) : v);
    const mm = (r: MatmulRefArgs, abs: boolean): Float64Array => matmulRef({ ...r, a: ab(r.a, abs)!, w: ab(r.w, abs)!, bias: ab(r.bias, abs), init: ab(r.init, abs), alpha: abs ? Math.abs(r.alpha ?? 1) : r.alpha });
    const ref = (abs: boolean) => {
      const u = mm({ M: c.M, N: c.R, K: c.IN, a: x, w: A, transB: true }, abs);
      const base = mm({ M: c.M, N: c.OUT, K: c.IN, a: x, w: W, transB: true, bias, init: c.accY ? y0 : undefined }, abs);
      const yR = mm({ M: c.M, N: c.OUT, K: c.R, a: u, w: B, transB: true, alpha: c.s, init: base }, abs);
      const duR = mm({ M: c.M, N: c.R, K: c.OUT, a: dy, w: B, transB: false, alpha: c.s }, abs);
      const dxBase = mm({ M: c.M, N: c.IN, K: c.OUT, a: dy, w: W, transB: false, init: c.accDx ? dx0 : undefined }, abs);
      const dxR = mm({ M: c.M, N: c.IN, K: c.R, a: duR, w: A, transB: false, init: dxBase }, abs);
      const dBR = mm({ M: c.OUT, N: c.R, K: c.M, a: dy, transA: true, w: u, transB: false, alpha: c.s, init: dB0 }, abs);
      const dAR = mm({ M: c.R, N: c.IN, K: c.M, a: duR, transA: true, w: x, transB: false, init: dA0 }, abs);
      return { u, y: yR, du: duR, dx: dxR, dB: dBR, dA: dAR };
    };
    const want = ref(false);
    const mag = ref(true);
    const g = fused.p.parts[0]!.grads;
    const got = {
      u: await readF32(ctx, branch.u, 0, c.M * c.R), y: await readF32(ctx, y, 0, c.M * c.OUT), du: await readF32(ctx, du, 0, c.M * c.R),
      dx: await readF32(ctx, dx, 0, c.M * c.IN), dB: await readF32(ctx, g, fused.slot.bOffset, c.OUT * c.R), dA: await readF32(ctx, g, 0, c.R * c.IN),
    };
    const unfused = {
      u: await readF32(ctx, uO, 0, c.M * c.R), y: await readF32(ctx, yO, 0, c.M * c.OUT), du: await readF32(ctx, duO, 0, c.M * c.R),
      dx: await readF32(ctx, dxO, 0, c.M * c.IN), dB: await readF32(ctx, old.p.parts[0]!.grads, old.slot.bOffset, c.OUT * c.R), dA: await readF32(ctx, old.p.parts[0]!.grads, 0, c.R * c.IN),
    };
    for (const k of ['u', 'y', 'du', 'dx', 'dB', 'dA'] as const) {
      expectClose(got[k], want[k], 2e-6 * scaleOf((abs) => (abs ? mag[k] : want[k])), 1e-5, `${k} vs f64 reference`);
      expect(Array.from(got[k]), `${k}: fused == unfused GPU path bit for bit`).toEqual(Array.from(unfused[k]));
    }
  });
});
