import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { rmsnormBackward, rmsnormForward, rmsnormVariant, type RmsnormOffset, type RmsnormVariant } from '../../src/engine/kernels/rmsnorm';
import { rmsnormBackwardRef, rmsnormRef } from '../../src/engine/reference/rmsnorm';

const EPS = 1e-6;

/** Largest |value| of an array (the scale f32 rounding errors grow with). */
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** GPU forward + backward (optionally accumulating into dx0) vs the f64 references; offset 1: a = 1 + w, w near 0. */
async function check(ctx: GpuContext, rows: number, C: number, seed: number, accumulate: boolean, variant: RmsnormVariant, offset: RmsnormOffset = 0): Promise<void> {
  const x = randomF32(rows * C, seed, 2);
  const w = Float32Array.from(randomF32(C, seed + 1, 0.5), (v) => (offset === 1 ? v : 1 + v));
  const dy = randomF32(rows * C, seed + 2);
  const dx0 = randomF32(rows * C, seed + 3);
  const xb = uploadStorage(ctx, x, 'x');
  const wb = uploadStorage(ctx, w, 'w');
  const dyb = uploadStorage(ctx, dy, 'dy');
  const out = createStorage(ctx, rows * C * 4, 'y');
  const rstd = createStorage(ctx, rows * 4, 'rstd');
  const dx = accumulate ? uploadStorage(ctx, dx0, 'dx') : createStorage(ctx, rows * C * 4, 'dx');
  const enc = ctx.device.createCommandEncoder();
  rmsnormForward(ctx, enc, { rows, C, eps: EPS, x: xb, weight: wb, out, rstd, variant, offset });
  rmsnormBackward(ctx, enc, { rows, C, x: xb, weight: wb, rstd, dout: dyb, dx, accumulate, variant, offset });
  await submitAndWait(ctx, [enc.finish()]);
  const ref = rmsnormRef(x, w, rows, C, EPS, offset);
  let dxRef = rmsnormBackwardRef(x, w, dy, rows, C, EPS, offset);
  if (accumulate) dxRef = dxRef.map((v, i) => v + (dx0[i] as number));
  const what = `rmsnorm (${variant}, offset ${offset}) rows=${rows} C=${C}`;
  expectClose(await readF32(ctx, rstd, 0, rows), ref.rstd, 0, 1e-5, `${what} rstd`);
  expectClose(await readF32(ctx, out, 0, rows * C), ref.y, 1e-5 * maxAbs(ref.y), 1e-5, `${what} y`);
  // dx is a difference of two terms of size ≈ rstd·|w·dy| that cancel when C is small: scale atol by that term.
  const term = Float64Array.from(dy, (v, i) => (ref.rstd[Math.floor(i / C)] as number) * Math.abs(v * (offset + (w[i % C] as number))));
  expectClose(await readF32(ctx, dx, 0, rows * C), dxRef, 1e-5 * Math.max(maxAbs(term), maxAbs(dxRef)), 1e-5, `${what} dx${accumulate ? ' (accumulate)' : ''}`);
}

const VARIANTS = ['row', 'workgroup'] as const;

describe('rmsnorm forward and backward vs CPU f64 reference', () => {
  // The 'row' variant runs 64 rows per workgroup: 63, 64 and 65 rows are its edges.
  const shapes: ReadonlyArray<readonly [number, number]> = [[1, 1], [3, 7], [5, 8], [4, 33], [3, 100], [2, 128], [3, 300], [2, 8192], [63, 8], [64, 64], [65, 9]];
  it.each(VARIANTS.flatMap((v) => shapes.map(([rows, C]) => [rows, C, v] as const)))('rows = %i, C = %i (%s)', async (rows, C, variant) => {
    const ctx = await testGpu();
    await check(ctx, rows, C, rows * 1000 + C, false, variant);
  });

  const accShapes: ReadonlyArray<readonly [number, number]> = [[5, 17], [3, 257], [70, 8]];
  it.each(VARIANTS.flatMap((v) => accShapes.map(([rows, C]) => [rows, C, v] as const)))('backward accumulates into dx (rows = %i, C = %i, %s)', async (rows, C, variant) => {
    const ctx = await testGpu();
    await check(ctx, rows, C, 77 + C, true, variant);
  });

  // Gemma 3 (1 + w): every entry point (forward, forward_row, backward, backward_row), plus accumulate.
  const gemmaShapes: ReadonlyArray<readonly [number, number]> = [[37, 65], [37, 63], [3, 300], [70, 9]];
  it.each(VARIANTS.flatMap((v) => gemmaShapes.map(([rows, C]) => [rows, C, v] as const)))('offset 1 (y = x·rstd·(1 + w)): rows = %i, C = %i (%s)', async (rows, C, variant) => {
    const ctx = await testGpu();
    await check(ctx, rows, C, 5 * rows + C, false, variant, 1);
    await check(ctx, rows, C, 7 * rows + C, true, variant, 1);
  });

  it.each(VARIANTS)('offset 1 with w gives the same bits as offset 0 with the f32 weight 1 + w (%s)', async (variant) => {
    const ctx = await testGpu();
    const [rows, C] = [37, 65];
    const x = uploadStorage(ctx, randomF32(rows * C, 3, 2), 'x');
    const dy = uploadStorage(ctx, randomF32(rows * C, 4), 'dy');
    const w = randomF32(C, 5, 0.4);
    const runs = [{ offset: 1 as const, weight: uploadStorage(ctx, w, 'w') }, { offset: 0 as const, weight: uploadStorage(ctx, Float32Array.from(w, (v) => 1 + v), '1+w') }];
    const got: Float32Array[] = [];
    for (const { offset, weight } of runs) {
      const [out, rstd, dx] = [createStorage(ctx, rows * C * 4, 'y'), createStorage(ctx, rows * 4, 'rstd'), createStorage(ctx, rows * C * 4, 'dx')];
      const enc = ctx.device.createCommandEncoder();
      rmsnormForward(ctx, enc, { rows, C, eps: EPS, x, weight, out, rstd, variant, offset });
      rmsnormBackward(ctx, enc, { rows, C, x, weight, rstd, dout: dy, dx, variant, offset });
      await submitAndWait(ctx, [enc.finish()]);
      got.push(await readF32(ctx, out), await readF32(ctx, dx));
    }
    expect(got[2]).toEqual(got[0]);
    expect(got[3]).toEqual(got[1]);
  });

  it('picks one thread per row up to C = 64 and a workgroup per row above', () => {
    expect([1, 8, 64, 65, 128, 1024].map(rmsnormVariant)).toEqual(['row', 'row', 'row', 'workgroup', 'workgroup', 'workgroup']);
  });

  it('rows beyond the per-dimension workgroup limit use the 2-D grid (limit forced to 4)', async () => {
    const real = await testGpu();
    const ctx: GpuContext = { ...real, limits: { ...real.limits, maxComputeWorkgroupsPerDimension: 4 } };
    await check(ctx, 10, 16, 9, false, 'workgroup'); // 10 rows → grid [4, 3], 2 idle workgroups
    await check(ctx, 330, 16, 9, false, 'row'); // 330 rows = 6 workgroups of 64 → grid [3, 2]
  });

  it('zero rows give rstd = 1/sqrt(eps) and y = 0', async () => {
    const ctx = await testGpu();
    const C = 5;
    const out = createStorage(ctx, 2 * C * 4, 'y');
    const rstd = createStorage(ctx, 8, 'rstd');
    const enc = ctx.device.createCommandEncoder();
    rmsnormForward(ctx, enc, { rows: 2, C, eps: 1e-5, x: createStorage(ctx, 2 * C * 4, 'x'), weight: uploadStorage(ctx, randomF32(C, 1), 'w'), out, rstd });
    await submitAndWait(ctx, [enc.finish()]);
    expectClose(await readF32(ctx, rstd, 0, 2), [1 / Math.sqrt(1e-5), 1 / Math.sqrt(1e-5)], 0, 1e-5, 'rstd');
    expectClose(await readF32(ctx, out, 0, 2 * C), new Array(2 * C).fill(0), 0, 0, 'y');
  });

  it('rejects C = 0, a negative eps and too-small bindings, naming the tensor', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 16, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => rmsnormForward(ctx, enc, { rows: 1, C: 0, eps: 1e-6, x: b, weight: b, out: b, rstd: b })).toThrow(/C = 0/);
    expect(() => rmsnormForward(ctx, enc, { rows: 1, C: 4, eps: -1, x: b, weight: b, out: b, rstd: b })).toThrow(/eps = -1/);
    expect(() => rmsnormBackward(ctx, enc, { rows: 2, C: 4, x: b, weight: b, rstd: b, dout: b, dx: b })).toThrow(/x \[rows=2, C=4\] f32 needs 32 bytes/);
    expect(() => rmsnormForward(ctx, enc, { rows: 1, C: 4, eps: 1e-6, x: b, weight: b, out: b, rstd: b, offset: 2 as RmsnormOffset })).toThrow(/offset = 2; expected 0 \(w\) or 1 \(1 \+ w\)/);
    enc.finish();
  });
});
