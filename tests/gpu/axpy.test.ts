import { describe, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { axpy } from '../../src/engine/kernels/axpy';

describe('axpy', () => {
  it.each([1, 255, 257, 70_001])('y += alpha x matches a CPU loop at n=%i', async (n) => {
    const ctx = await testGpu();
    const x = randomF32(n, 1);
    const y = randomF32(n, 2);
    const xb = uploadStorage(ctx, x, 'x');
    const yb = uploadStorage(ctx, y, 'y');
    const enc = ctx.device.createCommandEncoder();
    axpy(ctx, enc, n, -0.75, xb, yb);
    await submitAndWait(ctx, [enc.finish()]);
    const got = await readF32(ctx, yb, 0, n);
    const want = Float32Array.from(y, (v, i) => Math.fround(v + Math.fround(-0.75 * (x[i] as number))));
    expectClose(got, want, 1e-7, 1e-6, 'axpy');
  });
});
