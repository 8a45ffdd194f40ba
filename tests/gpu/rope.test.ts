import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { ropeBackward, ropeForward } from '../../src/engine/kernels/rope';
import { ropeBackwardRef, ropeForwardRef } from '../../src/engine/reference/rope';

/** HF-style tables: inv_freq[d] = 1 / theta^(2d/D) in f32, angle = f32(t · inv_freq), cos/sin rounded to f32. */
function tables(T: number, D: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = D / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++)
    for (let d = 0; d < half; d++) {
      const a = Math.fround(t * Math.fround(1 / theta ** ((2 * d) / D)));
      cos[t * half + d] = Math.cos(a);
      sin[t * half + d] = Math.sin(a);
    }
  return { cos, sin };
}

describe('rope (rotate_half)', () => {
  it.each([
    [2, 1, 3, 8],
    [2, 5, 3, 16],
    [2, 19, 2, 32],
    [1, 7, 5, 6],
  ])('forward and backward match the f64 reference at B=%i T=%i nHeads=%i D=%i', async (B, T, nHeads, D) => {
    const ctx = await testGpu();
    const { cos, sin } = tables(T, D, 10000);
    const x = randomF32(B * T * nHeads * D, 11 + T, 3);
    const dy = randomF32(x.length, 12 + T, 3);
    const cosb = uploadStorage(ctx, cos, 'cos');
    const sinb = uploadStorage(ctx, sin, 'sin');
    const xb = uploadStorage(ctx, x, 'x');
    const db = uploadStorage(ctx, dy, 'dy');
    const enc = ctx.device.createCommandEncoder();
    const shape = { B, T, nHeads, D };
    ropeForward(ctx, enc, { ...shape, cos: cosb, sin: sinb, x: xb });
    ropeBackward(ctx, enc, { ...shape, cos: cosb, sin: sinb, dx: db });
    await submitAndWait(ctx, [enc.finish()]);
    expectClose(await readF32(ctx, xb), ropeForwardRef(shape, cos, sin, x), 1e-6, 1e-6, `rope forward T=${T} D=${D}`);
    expectClose(await readF32(ctx, db), ropeBackwardRef(shape, cos, sin, dy), 1e-6, 1e-6, `rope backward T=${T} D=${D}`);
    for (const b of [cosb, sinb, xb, db]) b.destroy();
  });

  it('backward undoes forward (rotation is orthogonal)', async () => {
    const ctx = await testGpu();
    const [B, T, nHeads, D] = [2, 9, 2, 16];
    const { cos, sin } = tables(T, D, 1e6);
    const x = randomF32(B * T * nHeads * D, 5);
    const cosb = uploadStorage(ctx, cos, 'cos');
    const sinb = uploadStorage(ctx, sin, 'sin');
    const xb = uploadStorage(ctx, x, 'x');
    const enc = ctx.device.createCommandEncoder();
    ropeForward(ctx, enc, { B, T, nHeads, D, cos: cosb, sin: sinb, x: xb });
    ropeBackward(ctx, enc, { B, T, nHeads, D, cos: cosb, sin: sinb, dx: xb });
    await submitAndWait(ctx, [enc.finish()]);
    expectClose(await readF32(ctx, xb), x, 1e-6, 1e-6, 'rope backward∘forward');
  });

  it('rejects an odd head dim and a short table', async () => {
    const ctx = await testGpu();
    const small = createStorage(ctx, 8, 'small');
    const big = createStorage(ctx, 4096, 'big');
    const enc = ctx.device.createCommandEncoder();
    expect(() => ropeForward(ctx, enc, { B: 1, T: 2, nHeads: 1, D: 7, cos: big, sin: big, x: big })).toThrow(/even/);
    expect(() => ropeForward(ctx, enc, { B: 1, T: 4, nHeads: 1, D: 8, cos: small, sin: big, x: big })).toThrow(/cos \[T=4, D\/2=4\] f32 needs 64 bytes but its binding holds 8 bytes/);
  });
});
