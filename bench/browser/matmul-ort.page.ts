/**
 * Page module of bench/browser/matmul-ort.html (built and served by bench/browser/matmul-ort.bench.spec.ts): our
 * matmul (src/engine/kernels/matmul.ts matmulAuto) and onnxruntime-web's WebGPU execution provider MatMul on the same
 * adapter in one page. Exposes `window.matmulOrt.run(shape)`; the spec drives it shape by shape.
 *
 * Each side has its own GPUDevice on navigator.gpu's adapter (ours from createGpuContext, ORT's from ort.env.webgpu
 * after its first session). What one timed run is, from performance.now() before to after:
 *   ours  encode matmulAuto (the variant the model uses at this shape and adapter) into a fresh command encoder,
 *         queue.submit, await our device's queue.onSubmittedWorkDone();
 *   ORT   await session.run({ A }) with A a GPU tensor already on ORT's device (Tensor.fromGpuBuffer) and the output
 *         left on the GPU (preferredOutputLocation 'gpu-buffer'), then await ORT's device queue.onSubmittedWorkDone().
 * No upload or read-back is timed on either side; B lives on the GPU on both (ORT: an initializer; ours: a packed weight).
 */
import * as ort from 'onnxruntime-web/webgpu';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { createGpuContext, type GpuContext } from '../../src/engine/gpu/context';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { uploadWeight } from '../../src/engine/gpu/weights';
import { matmulAuto, matmulVariant, regMaxKFor } from '../../src/engine/kernels/matmul';
import { matmulModel } from './onnx-matmul';

/** One product Y[M, N] = A[M, K]·B[K, N] to time, with the number of timed runs per side. */
export interface MatmulOrtShape {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** Timed runs per side after one warm-up run each (interleaved ours F32, ORT, ours BF16, ours F32 [K, N]). */
  readonly reps: number;
}

/** Times (ms, one per timed run) and output checks of one shape. */
export interface MatmulOrtResult {
  readonly oursF32Ms: number[];
  readonly oursBf16Ms: number[];
  /** Ours F32 with W = B [K, N] itself (!transB: ORT's layout); same timing as oursF32Ms. */
  readonly oursKnMs: number[];
  readonly ortMs: number[];
  /** matmulVariant's choice at this shape on our adapter. */
  readonly variant: string;
  /** max |ours F32 − ORT| over all M·N outputs, and the tolerance 1e-5·K it must stay within. */
  readonly maxDiffOrt: number;
  /** max |ours F32 with W [K, N] − ours F32 with W [N, K]|, within the same tolerance. */
  readonly maxDiffKn: number;
  /** max |ours BF16 − ours F32| (B holds bf16-exact values, so both weights hold the same numbers). */
  readonly maxDiffBf16: number;
  readonly tolerance: number;
  /** Largest ratio |out − ref| / bound over the CPU-checked rows (ref in f64, bound 2·K·2⁻²⁴·Σ|a·b|); must be ≤ 1. */
  readonly refWorst: { ours: number; ort: number; bf16: number };
  readonly adapter: string;
}

declare global {
  interface Window {
    matmulOrt: { run(shape: MatmulOrtShape): Promise<MatmulOrtResult> };
  }
}

ort.env.wasm.wasmPaths = { wasm: ortWasmUrl };
ort.env.wasm.numThreads = 1;
// ?verbose in the page URL: ORT logs node placement (which execution provider runs MatMul) to the console.
if (new URLSearchParams(location.search).has('verbose')) ort.env.logLevel = 'verbose';
ort.env.wasm.proxy = false;

let ours: Promise<GpuContext> | undefined;

/** Deterministic values in [-1, 1) (xorshift32), rounded to bf16 when `bf16` so the BF16 weight is exact. */
function randomValues(n: number, seed: number, bf16: boolean): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
    if (bf16) bits[i] = (bits[i]! & 0xffff0000) >>> 0;
  }
  return out;
}

/** Max |x − y| over all elements. */
function maxAbsDiff(x: Float32Array, y: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

/** Worst |out − ref| / (2·K·2⁻²⁴·Σ|a·b| + 1e-30) over `rows` (f64 CPU reference, any summation order fits the bound). */
function refWorst(a: Float32Array, b: Float32Array, M: number, N: number, K: number, rows: readonly number[], outs: Float32Array[]): number[] {
  const worst = outs.map(() => 0);
  for (const i of rows) {
    if (i >= M) continue;
    for (let j = 0; j < N; j++) {
      let ref = 0;
      let abs = 0;
      for (let k = 0; k < K; k++) {
        const p = a[i * K + k]! * b[k * N + j]!;
        ref += p;
        abs += Math.abs(p);
      }
      const bound = 2 * K * 2 ** -24 * abs + 1e-30;
      outs.forEach((o, t) => (worst[t] = Math.max(worst[t]!, Math.abs(o[i * N + j]! - ref) / bound)));
    }
  }
  return worst;
}

/** Runs one shape: builds both sides, warms up, times `reps` interleaved runs each, checks the outputs. */
async function run(shape: MatmulOrtShape): Promise<MatmulOrtResult> {
  const { M, N, K, reps } = shape;
  const ctx = await (ours ??= createGpuContext(navigator.gpu));
  const a = randomValues(M * K, 0x9e3779b9 ^ (M * 31 + K), false);
  const b = randomValues(K * N, 0x85ebca6b ^ (N * 17 + K), true); // B [K, N], ORT's MatMul layout
  // Ours in the model's nn.Linear layout: W [N, K] = Bᵀ, transB (y = x·Wᵀ), F32 and BF16 words.
  const wt = new Float32Array(N * K);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) wt[n * K + k] = b[k * N + n]!;
  const wtBits = new Uint32Array(wt.buffer);
  const bf16 = new Uint16Array(N * K);
  for (let i = 0; i < bf16.length; i++) bf16[i] = wtBits[i]! >>> 16;
  const aBuf = uploadStorage(ctx, a, 'bench.A');
  const wF32 = uploadWeight(ctx, new Uint8Array(wt.buffer), 'F32', [N, K], 'bench.W.f32');
  const wBf16 = uploadWeight(ctx, new Uint8Array(bf16.buffer), 'BF16', [N, K], 'bench.W.bf16');
  const wKn = uploadWeight(ctx, new Uint8Array(b.buffer), 'F32', [K, N], 'bench.W.f32.kn');
  const outKn = createStorage(ctx, M * N * 4, 'bench.Y.f32.kn');
  const outF32 = createStorage(ctx, M * N * 4, 'bench.Y.f32');
  const outBf16 = createStorage(ctx, M * N * 4, 'bench.Y.bf16');

  const session = await ort.InferenceSession.create(matmulModel(M, N, K, b), { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer', graphOptimizationLevel: 'all', ...(ort.env.logLevel === 'verbose' ? { logSeverityLevel: 0 as const, logVerbosityLevel: 1 } : {}) });
  const dev = await ort.env.webgpu.device;
  const aOrtBuf = dev.createBuffer({ label: 'ort.A', size: a.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  dev.queue.writeBuffer(aOrtBuf, 0, a);
  await dev.queue.onSubmittedWorkDone();
  const aTensor = ort.Tensor.fromGpuBuffer(aOrtBuf, { dataType: 'float32', dims: [M, K] });

  const runOurs = async (w: typeof wF32, out: GPUBuffer, transB = true): Promise<number> => {
    const t0 = performance.now();
    const enc = ctx.device.createCommandEncoder({ label: 'bench.matmul' });
    matmulAuto(ctx, enc, { M, N, K, a: aBuf, w: w.buffer, wDtype: w.dtype, transB, out });
    ctx.device.queue.submit([enc.finish()]);
    await ctx.device.queue.onSubmittedWorkDone();
    const t = performance.now() - t0;
    for (const x of ctx.transient.splice(0)) x.destroy();
    return t;
  };
  const runOrt = async (keep: boolean): Promise<{ ms: number; y?: Float32Array }> => {
    const t0 = performance.now();
    const res = await session.run({ A: aTensor });
    await dev.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    const y = res['Y'];
    if (!y) throw new Error('ORT returned no output Y');
    if (y.location !== 'gpu-buffer') throw new Error(`ORT output is on '${y.location}', not the GPU`);
    const data = keep ? ((await y.getData()) as Float32Array) : undefined;
    y.dispose();
    return data ? { ms, y: data } : { ms };
  };

  try {
    // Warm-up (pipelines compiled, ORT's buffers allocated); its outputs are the ones checked.
    const ortY = (await runOrt(true)).y!;
    await runOurs(wF32, outF32);
    await runOurs(wBf16, outBf16);
    await runOurs(wKn, outKn, false);
    const yKn = await readF32(ctx, outKn, 0, M * N);
    const yF32 = await readF32(ctx, outF32, 0, M * N);
    const yBf16 = await readF32(ctx, outBf16, 0, M * N);
    const tolerance = 1e-5 * K;
    const rows = [0, Math.floor(M / 3), Math.floor((2 * M) / 3), M - 1];
    const [wo, wr, wb] = refWorst(a, b, M, N, K, rows, [yF32, ortY, yBf16]);
    const result = {
      variant: matmulVariant(M, N, K, regMaxKFor(ctx.adapter)),
      maxDiffOrt: maxAbsDiff(yF32, ortY),
      maxDiffBf16: maxAbsDiff(yF32, yBf16),
      maxDiffKn: maxAbsDiff(yF32, yKn),
      tolerance,
      refWorst: { ours: wo!, ort: wr!, bf16: wb! },
      adapter: `${ctx.adapter.vendor} ${ctx.adapter.architecture} ${ctx.adapter.description}`.trim(),
      oursF32Ms: [] as number[],
      oursBf16Ms: [] as number[],
      oursKnMs: [] as number[],
      ortMs: [] as number[],
    };
    for (let r = 0; r < reps; r++) {
      result.oursF32Ms.push(await runOurs(wF32, outF32));
      result.ortMs.push((await runOrt(false)).ms);
      result.oursBf16Ms.push(await runOurs(wBf16, outBf16));
      result.oursKnMs.push(await runOurs(wKn, outKn, false));
    }
    return result;
  } finally {
    await session.release();
    aOrtBuf.destroy();
    for (const x of [aBuf, wF32.buffer, wBf16.buffer, wKn.buffer, outF32, outBf16, outKn]) x.destroy();
  }
}

window.matmulOrt = { run };
