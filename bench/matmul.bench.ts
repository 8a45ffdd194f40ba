/**
 * Tiled vs naive matmul throughput (GFLOP/s = 2·M·N·K / seconds), measured side by side on the Node
 * WebGPU adapter (Dawn; SwiftShader/lavapipe on CI, so absolute numbers are CPU numbers).
 * Each iteration records REPS dispatches into one command buffer and waits for the queue.
 * Run: npm run bench (vitest bench --run).
 */
import { afterAll, bench, describe } from 'vitest';
import { createStorage, uploadStorage } from '../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../src/engine/gpu/context';
import { uploadWeight } from '../src/engine/gpu/weights';
import { matmul, matmulNaive, type MatmulArgs } from '../src/engine/kernels/matmul';
import { createNodeGpuContext } from '../src/node/gpu';
import { encodeFromF32, type WeightDType } from '../src/io/dtype';

const REPS = 4;
const ctx: GpuContext = await createNodeGpuContext();
const results: string[] = [];

function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

/** Buffers for one problem; the same operands are used by both kernels. */
function problem(M: number, N: number, K: number, dtype: WeightDType, transB: boolean): MatmulArgs {
  const w = uploadWeight(ctx, encodeFromF32(randomValues(N * K, 2), dtype), dtype, transB ? [N, K] : [K, N], 'w');
  return { M, N, K, a: uploadStorage(ctx, randomValues(M * K, 1), 'a'), w: w.buffer, wDtype: dtype, transB, out: createStorage(ctx, M * N * 4, 'out') };
}

/** A bench body that runs `kernel` REPS times and records its own GFLOP/s (the first call, which compiles, is not counted). */
function timed(name: string, kernel: typeof matmul, args: MatmulArgs): () => Promise<void> {
  let seconds = 0;
  let runs = -1;
  const flops = 2 * args.M * args.N * args.K * REPS;
  results.push(name);
  const slot = results.length - 1;
  return async () => {
    const t0 = performance.now();
    const enc = ctx.device.createCommandEncoder();
    for (let r = 0; r < REPS; r++) kernel(ctx, enc, args);
    await submitAndWait(ctx, [enc.finish()]);
    if (++runs === 0) return;
    seconds += (performance.now() - t0) / 1000;
    results[slot] = `${name}: ${((flops * runs) / seconds / 1e9).toFixed(2)} GFLOP/s over ${runs} runs`;
  };
}

const CASES: ReadonlyArray<[string, number, number, number, WeightDType, boolean]> = [
  ['f32 256×256×256', 256, 256, 256, 'F32', false],
  ['linear bf16 x·Wᵀ M=128 N=512 K=256', 128, 512, 256, 'BF16', true],
];

for (const [label, M, N, K, dtype, transB] of CASES) {
  describe(`matmul ${label}`, () => {
    const args = problem(M, N, K, dtype, transB);
    const opts = { time: 2000, iterations: 5, warmupIterations: 1 };
    bench(`tiled 64×64`, timed(`${label} tiled`, matmul, args), opts);
    bench(`naive 1 thread/output`, timed(`${label} naive`, matmulNaive, args), opts);
  });
}

afterAll(() => {
  console.log(`\nmatmul GFLOP/s on ${ctx.adapter.description || ctx.adapter.architecture}:\n  ${results.join('\n  ')}`);
});
