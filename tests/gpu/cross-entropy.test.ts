import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { crossEntropy, IGNORE_INDEX, validateTargets } from '../../src/engine/kernels/crossEntropy';
import { crossEntropyBackwardRef, crossEntropyRef } from '../../src/engine/reference/crossEntropy';

/** Runs the kernel once; returns the losses and the logits buffer's content afterwards. */
async function run(M: number, V: number, logits: Float32Array, targets: Int32Array, gradScale: number, writeGrad: boolean) {
  const ctx = await testGpu();
  const lb = uploadStorage(ctx, logits, 'logits');
  const tb = uploadStorage(ctx, targets, 'targets');
  const out = uploadStorage(ctx, new Float32Array(M).fill(123), 'losses');
  const enc = ctx.device.createCommandEncoder();
  crossEntropy(ctx, enc, { M, V, logits: lb, targets: tb, losses: out, gradScale, writeGrad });
  await submitAndWait(ctx, [enc.finish()]);
  const res = { losses: await readF32(ctx, out), after: await readF32(ctx, lb) };
  for (const b of [lb, tb, out]) b.destroy();
  return res;
}

/** Targets with some ignored rows (−100) and the rest spread over [0, V), including 0 and V − 1. */
function makeTargets(M: number, V: number): Int32Array {
  return Int32Array.from({ length: M }, (_, m) => (m % 4 === 1 ? IGNORE_INDEX : m === 0 ? V - 1 : m === 2 ? 0 : (m * 7919) % V));
}

describe('crossEntropy', () => {
  it.each([
    [7, 257, 4],
    [3, 5000, 6],
    [1, 1, 1],
    [5, 64, 30],
  ])('losses and dlogits match the f64 reference at M=%i V=%i (logit scale %f)', async (M, V, scale) => {
    const logits = randomF32(M * V, V + M, scale);
    const targets = V === 1 ? new Int32Array(M) : makeTargets(M, V);
    const valid = targets.filter((t) => t !== IGNORE_INDEX).length;
    const gradScale = 1 / Math.max(1, valid);
    const wantLoss = crossEntropyRef(M, V, logits, targets);
    const wantGrad = crossEntropyBackwardRef(M, V, logits, targets, gradScale);
    const lossTol = 1e-5 * Math.max(1, Math.log(V) + 2 * scale);

    const fwd = await run(M, V, logits, targets, gradScale, false);
    expectClose(fwd.losses, wantLoss, lossTol, 1e-5, `ce loss M=${M} V=${V}`);
    expect(fwd.after, 'forward leaves logits unchanged').toEqual(logits);

    const bwd = await run(M, V, logits, targets, gradScale, true);
    expectClose(bwd.losses, wantLoss, lossTol, 1e-5, `ce loss (grad entry) M=${M} V=${V}`);
    expectClose(bwd.after, wantGrad, 1e-6 * gradScale, 1e-5, `ce dlogits M=${M} V=${V}`);
    for (let m = 0; m < M; m++) if (targets[m] === IGNORE_INDEX) expect(wantLoss[m]).toBe(0);
  });

  it('marks an out-of-range target with loss −1 and a zero gradient row; validateTargets names the row', async () => {
    const [M, V] = [3, 10];
    const logits = randomF32(M * V, 3);
    const targets = Int32Array.from([2, 10, -5]);
    const r = await run(M, V, logits, targets, 0.5, true);
    expect(r.losses[1]).toBe(-1);
    expect(r.losses[2]).toBe(-1);
    expect(Array.from(r.after.subarray(V))).toEqual(new Array(2 * V).fill(0));
    expect(() => validateTargets(targets, V)).toThrow(/row 1 has target 10/);
  });
});

// ~40 s on SwiftShader (65541 workgroups of 256 threads), so it runs only with SLOW_GPU_TESTS=1.
describe('crossEntropy, more than 65535 rows (2-D workgroup grid)', () => {
  it.skipIf(!process.env.SLOW_GPU_TESTS)('matches the f64 reference at M=65541 V=3', async () => {
    const [M, V] = [65541, 3];
    const logits = randomF32(M * V, 99, 2);
    const targets = Int32Array.from({ length: M }, (_, m) => (m % 5 === 0 ? IGNORE_INDEX : m % V));
    const r = await run(M, V, logits, targets, 0.25, true);
    expectClose(r.losses, crossEntropyRef(M, V, logits, targets), 1e-5, 1e-5, 'ce loss, 2-D grid');
    expectClose(r.after, crossEntropyBackwardRef(M, V, logits, targets, 0.25), 1e-6, 1e-5, 'ce dlogits, 2-D grid');
  });
});
