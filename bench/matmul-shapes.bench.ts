/**
 * Matmul by shape and the fused LoRA linear, timed with GPU timestamps (bench/gpu-timer.ts): the time of a recorded
 * sequence is the sum over its compute passes of (end − beginning); each number is the best of REPS runs after one
 * warm-up run (which compiles); the runs of compared recordings are interleaved. Everything is measured side by side in one run on the Node adapter.
 * FLOPs: 2·M·N·K per matmul (out[M, N] = op(a)[M, K]·op(w)[K, N]).
 * Lines:
 *   matmul_gflops <shape> before|after   — before: the 64×64 tiled kernel; after: matmulAuto (the variant the model uses;
 *                                          when that is the tiled kernel the same measurement is printed twice).
 *   lora_linear_vs_frozen_linear <shape> — time of a LoRA linear forward + backward (y, u, dx, du, dA, dB; r 16) ÷ time of
 *                                          the frozen linear forward + dx alone; `unfused` = the six-matmul LoRA path.
 *   demo_lora_branch_ms before|after     — LoRA branch per demo micro-batch (5 layers × 7 linears, M 1720, r 8): after =
 *                                          fused LoRA linear − frozen linear; before = the six unfused LoRA matmuls.
 * Run: npx vitest bench --run --project gpu bench/matmul-shapes.bench.ts
 */
import { afterAll, bench } from 'vitest';
import { createStorage, uploadStorage } from '../src/engine/gpu/buffers';
import type { GpuContext } from '../src/engine/gpu/context';
import type { Binding } from '../src/engine/gpu/pipeline';
import { uploadWeight } from '../src/engine/gpu/weights';
import { matmul, matmulAuto, matmulVariant, type MatmulArgs } from '../src/engine/kernels/matmul';
import { linearBackward, linearForward, type LoraBranch } from '../src/engine/model/linear';
import type { LoraParams, LoraSlot } from '../src/engine/model/lora';
import type { LinearWeights } from '../src/engine/model/weights';
import { encodeFromF32 } from '../src/io/dtype';
import { createTimedContext, gpuSeconds } from './gpu-timer';

const REPS = 3;
const ctx: GpuContext = await createTimedContext();
const lines: string[] = [];

function rnd(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5);
}

/** Best GPU seconds of `record` over REPS runs after a warm-up. */
async function best(record: (enc: GPUCommandEncoder) => void): Promise<number> {
  await gpuSeconds(ctx, record);
  let t = Infinity;
  for (let i = 0; i < REPS; i++) t = Math.min(t, await gpuSeconds(ctx, record));
  return t;
}

/** [name, M, N, K, transA, transB]; weights BF16 when transB (a frozen linear), else f32 (activations). */
const SHAPES: ReadonlyArray<[string, number, number, number, boolean, boolean]> = [
  ['512x512x512', 512, 512, 512, false, true],
  ['1024x1024x1024', 1024, 1024, 1024, false, true],
  ['512x896x4864', 512, 896, 4864, false, true],
  ['512x4864x896', 512, 4864, 896, false, true],
  ['demo q/o 1720x64x64', 1720, 64, 64, false, true],
  ['demo k/v 1720x32x64', 1720, 32, 64, false, true],
  ['demo gate/up 1720x172x64', 1720, 172, 64, false, true],
  ['demo down 1720x64x172', 1720, 64, 172, false, true],
  ['demo lm_head 1720x512x64', 1720, 512, 64, false, true],
  ['demo u r8 1720x8x64', 1720, 8, 64, false, true],
  ['demo du r8 1720x8x172', 1720, 8, 172, false, false],
  ['demo uBt r8 1720x64x8', 1720, 64, 8, false, true],
  ['demo dB r8 172x8x1720', 172, 8, 1720, true, false],
  ['demo dA r8 8x172x1720', 8, 172, 1720, true, false],
];

async function matmulLines(): Promise<void> {
  for (const [name, M, N, K, transA, transB] of SHAPES) {
    const dtype = transB ? 'BF16' : 'F32';
    const args: MatmulArgs = {
      M, N, K, transA, transB, wDtype: dtype,
      a: uploadStorage(ctx, rnd(M * K, 1), 'a'), w: uploadWeight(ctx, encodeFromF32(rnd(N * K, 2), dtype), dtype, [N * K], 'w').buffer, out: createStorage(ctx, M * N * 4, 'out'),
    };
    const flops = 2 * M * N * K;
    const variant = matmulVariant(M, N, K);
    const [before, after] = variant === 'tiled' ? [await best((e) => matmul(ctx, e, args))].flatMap((t) => [t, t]) as [number, number]
      : (await bestOf([(e) => matmul(ctx, e, args), (e) => matmulAuto(ctx, e, args)])) as [number, number];
    lines.push(`matmul_gflops ${name} before: ${(flops / before / 1e9).toFixed(3)}`, `matmul_gflops ${name} after: ${(flops / after / 1e9).toFixed(3)} (${variant})`);
  }
}

/** A frozen BF16 linear [OUT, IN] with a rank-R LoRA branch in one f32 slot (A at 0, B at the next 64-float boundary). */
function loraLinear(M: number, IN: number, OUT: number, R: number) {
  const lin: LinearWeights = { name: 'lin', w: uploadWeight(ctx, encodeFromF32(rnd(OUT * IN, 3), 'BF16'), 'BF16', [OUT, IN], 'W'), bias: null, inFeatures: IN, outFeatures: OUT };
  const bOffset = Math.ceil((R * IN) / 64) * 64;
  const numel = bOffset + OUT * R;
  const slot: LoraSlot = { path: 'lin', layer: 0, module: 'q_proj', inFeatures: IN, outFeatures: OUT, part: 0, aOffset: 0, bOffset };
  const buf = (label: string): GPUBuffer => uploadStorage(ctx, rnd(numel, label.length), label);
  const part = { numel, params: buf('params'), grads: buf('grads'), m: buf('m'), v: buf('v') };
  const p: LoraParams = { settings: { r: R, alpha: 2 * R, dropout: 0, useRslora: false, targetModules: ['q_proj'] }, r: R, scaling: 2, slots: [slot], numel, parts: [part], bytes: numel * 16, destroy: () => undefined };
  const x = uploadStorage(ctx, rnd(M * IN, 4), 'x');
  const dy = uploadStorage(ctx, rnd(M * OUT, 5), 'dy');
  const y = createStorage(ctx, M * OUT * 4, 'y');
  const dx = createStorage(ctx, M * IN * 4, 'dx');
  const u = createStorage(ctx, M * R * 4, 'u');
  const du = createStorage(ctx, M * R * 4, 'du');
  const branch: LoraBranch = { p, slot, u };
  const sub = (b: GPUBuffer, off: number, n: number): Binding => ({ buffer: b, offset: off * 4, size: n * 4 });
  const A = sub(part.params, 0, R * IN), B = sub(part.params, bOffset, OUT * R), dA = sub(part.grads, 0, R * IN), dB = sub(part.grads, bOffset, OUT * R);
  return {
    frozen: (e: GPUCommandEncoder) => { linearForward(ctx, e, M, lin, x, y, null); linearBackward(ctx, e, M, lin, x, dy, dx, null, du, false); },
    fused: (e: GPUCommandEncoder) => { linearForward(ctx, e, M, lin, x, y, branch); linearBackward(ctx, e, M, lin, x, dy, dx, branch, du, false); },
    /** The LoRA matmuls of the unfused path (before this change), base matmuls excluded. */
    unfusedBranch: (e: GPUCommandEncoder) => {
      matmul(ctx, e, { M, N: R, K: IN, a: x, w: A, wDtype: 'F32', transB: true, out: u });
      matmul(ctx, e, { M, N: OUT, K: R, a: u, w: B, wDtype: 'F32', transB: true, out: y, accumulate: true, alpha: 2 });
      matmul(ctx, e, { M: OUT, N: R, K: M, a: dy, transA: true, w: u, wDtype: 'F32', transB: false, out: dB, accumulate: true, alpha: 2 });
      matmul(ctx, e, { M, N: R, K: OUT, a: dy, w: B, wDtype: 'F32', transB: false, out: du, alpha: 2 });
      matmul(ctx, e, { M: R, N: IN, K: M, a: du, transA: true, w: x, wDtype: 'F32', transB: false, out: dA, accumulate: true });
      matmul(ctx, e, { M, N: IN, K: R, a: du, w: A, wDtype: 'F32', transB: false, out: dx, accumulate: true });
    },
  };
}

/** Best GPU seconds of each recording, runs interleaved (a, b, c, a, b, c, …) so load on the machine hits all alike. */
async function bestOf(records: ReadonlyArray<(enc: GPUCommandEncoder) => void>, reps = REPS): Promise<number[]> {
  for (const r of records) await gpuSeconds(ctx, r);
  const t = records.map(() => Infinity);
  for (let i = 0; i < reps; i++) for (const [j, r] of records.entries()) t[j] = Math.min(t[j]!, await gpuSeconds(ctx, r));
  return t;
}

async function loraLines(): Promise<void> {
  for (const [M, IN, OUT] of [[256, 1024, 2048], [256, 1024, 3072]] as const) {
    const l = loraLinear(M, IN, OUT, 16);
    const [frozen, fused, branch] = (await bestOf([l.frozen, l.fused, l.unfusedBranch], 5)) as [number, number, number];
    const unfused = frozen + branch;
    lines.push(`lora_linear_vs_frozen_linear M${M} ${IN}->${OUT} r16 bf16: ${(fused / frozen).toFixed(3)}`, `lora_linear_vs_frozen_linear M${M} ${IN}->${OUT} r16 bf16 unfused: ${(unfused / frozen).toFixed(3)}`);
  }
  // Demo: q 64→64, k/v 64→32, o 64→64, gate/up 64→172, down 172→64; 5 layers; M = B 8 × T 215.
  let before = 0, after = 0;
  for (const [IN, OUT, n] of [[64, 64, 2], [64, 32, 2], [64, 172, 2], [172, 64, 1]] as const) {
    const l = loraLinear(1720, IN, OUT, 8);
    const [branch, fused, frozen] = (await bestOf([l.unfusedBranch, l.fused, l.frozen])) as [number, number, number];
    before += n * branch;
    after += n * (fused - frozen);
  }
  lines.push(`demo_lora_branch_ms before: ${(5 * before * 1e3).toFixed(1)}`, `demo_lora_branch_ms after: ${(5 * after * 1e3).toFixed(1)}`);
}

bench('matmul by shape and fused LoRA linear (GPU timestamps)', async () => {
  await loraLines();
  await matmulLines();
}, { iterations: 0, warmupIterations: 0, time: 0 });

afterAll(() => {
  console.log(`\n# ${ctx.adapter.description || ctx.adapter.architecture}: GPU timestamps, best of ${REPS}; FLOPs = 2·M·N·K\n${lines.join('\n')}`);
});
