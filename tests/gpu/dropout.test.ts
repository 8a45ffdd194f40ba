import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { randomF32 } from './compare';
import { readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { dropoutBackward, dropoutForward } from '../../src/engine/kernels/dropout';
import { dropoutFactor, dropoutForwardRef } from '../../src/engine/reference/dropout';

describe('dropout (LoRA branch input)', () => {
  it.each([[1, 0.1, 7], [257, 0.5, 123456789], [70_001, 0.05, 0xdeadbeef]])('n=%i p=%f: forward and backward match the CPU mask exactly', async (n, p, seed) => {
    const ctx = await testGpu();
    const x = randomF32(n, 3);
    const dy = randomF32(n, 4);
    const dx0 = randomF32(n, 5);
    const xb = uploadStorage(ctx, x, 'x');
    const out = uploadStorage(ctx, new Float32Array(n).fill(9), 'out');
    const dyb = uploadStorage(ctx, dy, 'dy');
    const dxb = uploadStorage(ctx, dx0, 'dx');
    const enc = ctx.device.createCommandEncoder();
    dropoutForward(ctx, enc, { n, p, seed, x: xb, out });
    dropoutBackward(ctx, enc, { n, p, seed, dy: dyb, dx: dxb });
    await submitAndWait(ctx, [enc.finish()]);
    const got = await readF32(ctx, out, 0, n);
    const want = dropoutForwardRef(x, seed, p);
    for (let i = 0; i < n; i++) expect(got[i], `out[${i}]`).toBe(Math.fround(want[i] as number));
    const gdx = await readF32(ctx, dxb, 0, n);
    for (let i = 0; i < n; i++) expect(gdx[i], `dx[${i}]`).toBe(Math.fround((dx0[i] as number) + Math.fround((dy[i] as number) * dropoutFactor(i, seed, p))));
    if (n > 1000) {
      const dropped = Array.from(got).filter((v) => v === 0).length / n;
      expect(Math.abs(dropped - p)).toBeLessThan(0.01);
    }
  });
});
