import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { uploadWeight } from '../../src/engine/gpu/weights';
import { matmul, matmulNaive, type MatmulArgs } from '../../src/engine/kernels/matmul';
import { matmulBackwardRef, matmulRef, type MatmulRefArgs } from '../../src/engine/reference/matmul';
import { decodeToF32, encodeFromF32, type WeightDType } from '../../src/io/dtype';

const DTYPES: WeightDType[] = ['F32', 'BF16', 'F16'];

/** Random weight of `dtype`: raw bytes for the GPU and the decoded values the reference uses. */
function randomWeight(n: number, seed: number, dtype: WeightDType, scale = 1): { bytes: Uint8Array; values: Float32Array } {
  const bytes = encodeFromF32(randomF32(n, seed, scale), dtype);
  return { bytes, values: decodeToF32(bytes, dtype) };
}

/** Largest |alpha|·Σ_k|op(a)||op(w)| + |bias| + |init| over outputs: the size f32 rounding errors scale with. */
function errorScale(r: MatmulRefArgs): number {
  const abs = matmulRef({ ...r, a: Array.from(r.a, Math.abs), w: Array.from(r.w, Math.abs), alpha: Math.abs(r.alpha ?? 1), bias: r.bias && Array.from(r.bias, Math.abs), init: r.init && Array.from(r.init, Math.abs) });
  return abs.reduce((m, v) => Math.max(m, v), 1e-30);
}

interface Case {
  M: number; N: number; K: number; transA: boolean; transB: boolean; dtype: WeightDType;
  alpha?: number; bias?: boolean; accumulate?: boolean; seed: number;
}

/** Runs every case in one command buffer with `kernel` and checks each against matmulRef. */
async function runCases(ctx: GpuContext, cases: Case[], kernel = matmul): Promise<void> {
  const enc = ctx.device.createCommandEncoder();
  const jobs = cases.map((c) => {
    const a = randomF32(c.M * c.K, c.seed);
    const w = randomWeight(c.N * c.K, c.seed + 1, c.dtype);
    const bias = c.bias ? randomF32(c.N, c.seed + 2) : undefined;
    const init = c.accumulate ? randomF32(c.M * c.N, c.seed + 3) : undefined;
    const out = init ? uploadStorage(ctx, init, 'out') : createStorage(ctx, c.M * c.N * 4, 'out');
    const args: MatmulArgs = {
      M: c.M, N: c.N, K: c.K, transA: c.transA, transB: c.transB, wDtype: c.dtype, alpha: c.alpha, accumulate: c.accumulate,
      a: uploadStorage(ctx, a, 'a'), w: uploadWeight(ctx, w.bytes, c.dtype, [c.N * c.K], 'w').buffer, out,
      bias: bias && uploadStorage(ctx, bias, 'bias'),
    };
    kernel(ctx, enc, args);
    const ref: MatmulRefArgs = { M: c.M, N: c.N, K: c.K, a, transA: c.transA, w: w.values, transB: c.transB, alpha: c.alpha, bias, init };
    return { c, out, ref };
  });
  await submitAndWait(ctx, [enc.finish()]);
  for (const { c, out, ref } of jobs) {
    const got = await readF32(ctx, out, 0, c.M * c.N);
    expectClose(got, matmulRef(ref), 1e-6 * errorScale(ref), 1e-5, `matmul ${JSON.stringify(c)}`);
  }
}

const SHAPES: ReadonlyArray<[number, number, number]> = [[1, 1, 1], [7, 17, 5], [33, 65, 31], [7, 1, 100], [1, 17, 100], [65, 3, 17]];
const COMBOS = DTYPES.flatMap((dtype) => [false, true].flatMap((transA) => [false, true].map((transB) => ({ dtype, transA, transB }))));

describe('matmul (tiled) vs CPU f64 reference', () => {
  // SwiftShader compiles each pipeline variant in ~1 s, so bias/accumulate variants are crossed with two layouts only.
  it.each(COMBOS)('dtype $dtype transA $transA transB $transB at shapes off the 64×64×16 tile', async ({ dtype, transA, transB }) => {
    const ctx = await testGpu();
    await runCases(ctx, SHAPES.map(([M, N, K], i) => ({ M, N, K, transA, transB, dtype, alpha: i % 2 ? -0.625 : 1, seed: 100 + 10 * i })));
  });

  it.each([
    { dtype: 'BF16', transA: false, transB: true },
    { dtype: 'F32', transA: true, transB: false },
  ] as const)('dtype $dtype transA $transA transB $transB: bias, accumulate, accumulate + bias, alpha ≠ 1', async ({ dtype, transA, transB }) => {
    const ctx = await testGpu();
    await runCases(ctx, SHAPES.flatMap(([M, N, K], i) => [
      { M, N, K, transA, transB, dtype, alpha: -0.625, bias: true, seed: 200 + 10 * i },
      { M, N, K, transA, transB, dtype, alpha: 0.75, accumulate: true, seed: 201 + 10 * i },
      { M, N, K, transA, transB, dtype, alpha: 1.5, accumulate: true, bias: true, seed: 202 + 10 * i },
    ]));
  });

  it('larger bf16 case exercises several tiles and K steps (M=64, N=300, K=257), both weight layouts', async () => {
    const ctx = await testGpu();
    await runCases(ctx, [
      { M: 64, N: 300, K: 257, transA: false, transB: true, dtype: 'BF16', bias: true, seed: 7 },
      { M: 130, N: 70, K: 257, transA: true, transB: false, dtype: 'BF16', seed: 8 },
    ]);
  });

  it('K = 0 gives out = bias (and leaves out + bias when accumulating); M = 0 records nothing', async () => {
    const ctx = await testGpu();
    await runCases(ctx, [
      { M: 3, N: 5, K: 0, transA: false, transB: true, dtype: 'BF16', bias: true, seed: 1 },
      { M: 3, N: 5, K: 0, transA: true, transB: false, dtype: 'F32', bias: true, accumulate: true, seed: 2 },
      { M: 0, N: 5, K: 4, transA: false, transB: true, dtype: 'F16', seed: 3 },
    ]);
  });

  it('tiles beyond the per-dimension workgroup limit use the 2-D grid (limit forced to 4)', async () => {
    const real = await testGpu();
    const ctx: GpuContext = { ...real, limits: { ...real.limits, maxComputeWorkgroupsPerDimension: 4 } };
    // 4 × 3 = 12 tiles → grid [4, 3]; 5 × 2 = 10 tiles → grid [4, 3] with 2 idle workgroups.
    await runCases(ctx, [
      { M: 250, N: 130, K: 9, transA: false, transB: true, dtype: 'BF16', seed: 11 },
      { M: 300, N: 70, K: 3, transA: true, transB: false, dtype: 'F32', accumulate: true, bias: true, seed: 12 },
    ]);
    await runCases(ctx, [{ M: 13, N: 11, K: 6, transA: false, transB: false, dtype: 'F16', seed: 13 }], matmulNaive);
  });
});

describe('matmul on sub-range bindings', () => {
  it('reads a and w and writes out at 256-byte offsets inside larger buffers', async () => {
    const ctx = await testGpu();
    const M = 5, N = 6, K = 7, off = 256;
    const a = randomF32(M * K, 31);
    const w = randomWeight(N * K, 32, 'BF16');
    const sub = (data: Uint8Array, label: string): { buffer: GPUBuffer; offset: number; size: number } => {
      const bytes = new Uint8Array(off + Math.ceil(data.byteLength / 4) * 4 + 64).fill(0x7f); // 0x7f7f7f7f: large finite garbage around the tensor
      bytes.set(data, off);
      return { buffer: uploadStorage(ctx, bytes, label), offset: off, size: Math.ceil(data.byteLength / 4) * 4 };
    };
    const out = sub(new Uint8Array(M * N * 4), 'out');
    const enc = ctx.device.createCommandEncoder();
    matmul(ctx, enc, { M, N, K, a: sub(new Uint8Array(a.buffer), 'a'), w: sub(w.bytes, 'w'), wDtype: 'BF16', transB: true, out });
    await submitAndWait(ctx, [enc.finish()]);
    const all = await readF32(ctx, out.buffer);
    expectClose(all.subarray(off / 4, off / 4 + M * N), matmulRef({ M, N, K, a, w: w.values, transB: true }), 1e-5, 1e-5, 'out');
    expect(all[off / 4 - 1]).not.toBe(0); // bytes before the range untouched
    expect(all[off / 4 + M * N]).not.toBe(0); // bytes after the range untouched
  });
});

describe('matmul (naive baseline) vs CPU f64 reference', () => {
  it('all transpose combinations, bf16 and f32, with bias and accumulate', async () => {
    const ctx = await testGpu();
    await runCases(ctx, COMBOS.filter((c) => c.dtype !== 'F16').flatMap(({ dtype, transA, transB }, i) => [
      { M: 7, N: 17, K: 31, transA, transB, dtype, alpha: 0.5, bias: true, seed: 300 + i },
      { M: 33, N: 5, K: 3, transA, transB, dtype, accumulate: true, seed: 400 + i },
    ]), matmulNaive);
  });
});

describe('matmul as linear backward and LoRA (the model\'s call patterns) vs matmulBackwardRef', () => {
  it('y = x·Wᵀ + b; dx = dy·W; dW = dyᵀ·x (W bf16 [N, K])', async () => {
    const ctx = await testGpu();
    const M = 9, N = 19, K = 33;
    const x = randomF32(M * K, 1);
    const W = randomWeight(N * K, 2, 'BF16');
    const dy = randomF32(M * N, 3);
    const xb = uploadStorage(ctx, x, 'x');
    const Wb = uploadWeight(ctx, W.bytes, 'BF16', [N, K], 'W').buffer;
    const dyb = uploadStorage(ctx, dy, 'dy');
    const dx = createStorage(ctx, M * K * 4, 'dx');
    const dW = createStorage(ctx, N * K * 4, 'dW');
    const enc = ctx.device.createCommandEncoder();
    matmul(ctx, enc, { M, N: K, K: N, a: dyb, w: Wb, wDtype: 'BF16', transB: false, out: dx });
    matmul(ctx, enc, { M: N, N: K, K: M, a: dyb, transA: true, w: xb, wDtype: 'F32', transB: false, out: dW });
    await submitAndWait(ctx, [enc.finish()]);
    const ref = matmulBackwardRef({ M, N, K, a: x, w: W.values, transB: true }, dy);
    expectClose(await readF32(ctx, dx, 0, M * K), ref.da, 1e-5, 1e-5, 'dx');
    expectClose(await readF32(ctx, dW, 0, N * K), ref.dw, 1e-5, 1e-5, 'dW');
  });

  it('LoRA: y += s·(x·Aᵀ)·Bᵀ; dB = s·dyᵀ·u; du = s·dy·B; dA = duᵀ·x; dx += du·A', async () => {
    const ctx = await testGpu();
    const M = 11, K = 21, N = 13, R = 3, s = 2.5;
    const x = randomF32(M * K, 21), A = randomF32(R * K, 22), B = randomF32(N * R, 23), dy = randomF32(M * N, 24), y0 = randomF32(M * N, 25), dx0 = randomF32(M * K, 26);
    const [xb, Ab, Bb, dyb] = [x, A, B, dy].map((v, i) => uploadStorage(ctx, v, `t${i}`)) as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
    const y = uploadStorage(ctx, y0, 'y');
    const dx = uploadStorage(ctx, dx0, 'dx');
    const u = createStorage(ctx, M * R * 4, 'u');
    const du = createStorage(ctx, M * R * 4, 'du');
    const dA = createStorage(ctx, R * K * 4, 'dA');
    const dB = createStorage(ctx, N * R * 4, 'dB');
    const enc = ctx.device.createCommandEncoder();
    matmul(ctx, enc, { M, N: R, K, a: xb, w: Ab, wDtype: 'F32', transB: true, out: u });
    matmul(ctx, enc, { M, N, K: R, a: u, w: Bb, wDtype: 'F32', transB: true, out: y, accumulate: true, alpha: s });
    matmul(ctx, enc, { M: N, N: R, K: M, a: dyb, transA: true, w: u, wDtype: 'F32', transB: false, out: dB, alpha: s });
    matmul(ctx, enc, { M, N: R, K: N, a: dyb, w: Bb, wDtype: 'F32', transB: false, out: du, alpha: s });
    matmul(ctx, enc, { M: R, N: K, K: M, a: du, transA: true, w: xb, wDtype: 'F32', transB: false, out: dA });
    matmul(ctx, enc, { M, N: K, K: R, a: du, w: Ab, wDtype: 'F32', transB: false, out: dx, accumulate: true });
    await submitAndWait(ctx, [enc.finish()]);
    // Reference: y = y0 + s·u·Bᵀ with u = x·Aᵀ, backpropagated through both products in f64.
    const uRef = matmulRef({ M, N: R, K, a: x, w: A, transB: true });
    const yRef = matmulRef({ M, N, K: R, a: uRef, w: B, transB: true, alpha: s, init: y0 });
    const g2 = matmulBackwardRef({ M, N, K: R, a: uRef, w: B, transB: true, alpha: s }, dy);
    const g1 = matmulBackwardRef({ M, N: R, K, a: x, w: A, transB: true }, g2.da);
    expectClose(await readF32(ctx, u, 0, M * R), uRef, 1e-5, 1e-5, 'u');
    expectClose(await readF32(ctx, y, 0, M * N), yRef, 1e-5, 1e-5, 'y');
    expectClose(await readF32(ctx, dB, 0, N * R), g2.dw, 1e-5, 1e-5, 'dB');
    expectClose(await readF32(ctx, du, 0, M * R), g2.da, 1e-5, 1e-5, 'du');
    expectClose(await readF32(ctx, dA, 0, R * K), g1.dw, 1e-5, 1e-5, 'dA');
    expectClose(await readF32(ctx, dx, 0, M * K), Float64Array.from(g1.da, (v, i) => v + (dx0[i] as number)), 1e-5, 1e-5, 'dx');
  });
});

describe('matmul argument checks', () => {
  it('names the tensor when a binding is too small, and the limit when a tensor exceeds one binding', async () => {
    const ctx = await testGpu();
    const small = createStorage(ctx, 16, 'small');
    const enc = ctx.device.createCommandEncoder();
    expect(() => matmul(ctx, enc, { M: 2, N: 3, K: 4, a: small, w: small, wDtype: 'BF16', transB: true, out: small })).toThrow(/a \[M=2, K=4\] f32 needs 32 bytes but its binding holds 16/);
    const K = Math.floor(ctx.limits.maxStorageBufferBindingSize / 4) + 1;
    expect(() => matmul(ctx, enc, { M: 1, N: 1, K, a: small, w: small, wDtype: 'F32', transB: true, out: small })).toThrow(/maxStorageBufferBindingSize/);
    expect(() => matmul(ctx, enc, { M: 1.5, N: 1, K: 1, a: small, w: small, wDtype: 'F32', transB: true, out: small })).toThrow(/M = 1.5/);
    enc.finish();
  });
});
