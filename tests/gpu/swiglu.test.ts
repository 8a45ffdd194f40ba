import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { swigluBackward, swigluForward, type GluActivation } from '../../src/engine/kernels/swiglu';
import { swigluBackwardRef, swigluRef } from '../../src/engine/reference/swiglu';

/** Runs forward and backward on the GPU and compares both with the f64 references. */
async function check(ctx: GpuContext, gate: Float32Array, up: Float32Array, dout: Float32Array, act?: GluActivation): Promise<void> {
  const n = gate.length;
  const [g, u, d] = [gate, up, dout].map((v, i) => uploadStorage(ctx, v, `in${i}`)) as [GPUBuffer, GPUBuffer, GPUBuffer];
  const out = createStorage(ctx, n * 4, 'out');
  const dgate = createStorage(ctx, n * 4, 'dgate');
  const dup = createStorage(ctx, n * 4, 'dup');
  const enc = ctx.device.createCommandEncoder();
  swigluForward(ctx, enc, { n, gate: g, up: u, out, ...(act ? { act } : {}) });
  swigluBackward(ctx, enc, { n, gate: g, up: u, dout: d, dgate, dup, ...(act ? { act } : {}) });
  await submitAndWait(ctx, [enc.finish()]);
  const ref = swigluBackwardRef(gate, up, dout, act);
  const what = `swiglu (${act ?? 'default'}) n=${n}`;
  expectClose(await readF32(ctx, out, 0, n), swigluRef(gate, up, act), 1e-6, 1e-5, `${what} forward`);
  expectClose(await readF32(ctx, dgate, 0, n), ref.dgate, 1e-6, 1e-5, `${what} dgate`);
  expectClose(await readF32(ctx, dup, 0, n), ref.dup, 1e-6, 1e-5, `${what} dup`);
}

describe('swiglu forward and backward vs CPU f64 reference', () => {
  it.each([1, 7, 255, 257, 70_001])('n = %i, gate in (−6, 6)', async (n) => {
    const ctx = await testGpu();
    await check(ctx, randomF32(n, n, 6), randomF32(n, n + 1, 2), randomF32(n, n + 2));
  });

  it('large |gate| (±100, ±1e4) gives silu → 0 or z without inf/NaN', async () => {
    const ctx = await testGpu();
    const gate = Float32Array.from([100, -100, 1e4, -1e4, 88.8, -88.8, 0, -0]);
    const up = Float32Array.from(gate, (_, i) => 0.5 + i / 8);
    const dout = Float32Array.from(gate, (_, i) => 1 - i / 8);
    await check(ctx, gate, up, dout);
  });

  it.each([1, 7, 1000, 70_001])('gelu_tanh (GeGLU) n = %i, gate in (−8, 8)', async (n) => {
    const ctx = await testGpu();
    await check(ctx, randomF32(n, 3 * n, 8), randomF32(n, n + 5, 2), randomF32(n, n + 6), 'gelu_tanh');
  });

  it('gelu_tanh at large |gate| (±12, ±30, ±100, ±1e4, ±1e20) gives 0 or z and derivatives 0 or 1, no inf/NaN', async () => {
    const ctx = await testGpu();
    const gate = Float32Array.from([11.9, -11.9, 12, -12, 30, -30, 100, -100, 1e4, -1e4, 1e20, -1e20, 0, -0, 3, -3]);
    const up = Float32Array.from(gate, (_, i) => 0.5 + i / 16);
    const dout = Float32Array.from(gate, (_, i) => 1 - i / 16);
    await check(ctx, gate, up, dout, 'gelu_tanh');
  });

  it('rejects an unknown activation', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 16, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => swigluForward(ctx, enc, { n: 4, gate: b, up: b, out: b, act: 'gelu' as GluActivation })).toThrow(/act = gelu; expected 'silu' or 'gelu_tanh'/);
    enc.finish();
  });

  it('workgroups beyond the per-dimension limit use the 2-D grid (limit forced to 4)', async () => {
    const real = await testGpu();
    const ctx: GpuContext = { ...real, limits: { ...real.limits, maxComputeWorkgroupsPerDimension: 4 } };
    const n = 256 * 11 + 3; // 12 workgroups → grid [4, 3]
    await check(ctx, randomF32(n, 5, 4), randomF32(n, 6), randomF32(n, 7));
    await check(ctx, randomF32(n, 8, 4), randomF32(n, 9), randomF32(n, 10), 'gelu_tanh');
  });

  it('names the tensor when a binding holds too few floats', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 16, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => swigluForward(ctx, enc, { n: 5, gate: b, up: b, out: b })).toThrow(/swiglu.forward: gate \[n=5\] f32 needs 20 bytes/);
    enc.finish();
  });
});
