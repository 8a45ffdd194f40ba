/**
 * Non-matmul kernels at the demo shapes (stories260K, micro-batch B 8 × T 215), each variant side by side in one
 * run, timed with GPU timestamps per compute pass (`timestamp-query`; every dispatch is its own pass, so the
 * timestamps bracket exactly one kernel). The first run of each variant compiles its pipelines and is not counted;
 * then REPS runs (attention: the variants interleaved run by run), and the line gives the mean GPU milliseconds per
 * call and the ratio new ÷ old of the same call.
 * Shapes: attention B 8, T 215, H 8, KV 4, D 8 ('small' at 4, 2 and 1 rows per thread vs the one-row-per-thread
 * 'small' shader it replaced, kept as bench/baseline/attention_small_rows1.wgsl; then 'small' vs 'tiled'); RMSNorm rows 1720 × C 64 and the per-head
 * q/k norm rows 1720·8 × C 8 ('row' vs 'workgroup'); cross-entropy pass 1 on rows 1720 × one chunk V 512.
 * Gemma 3 270M attention (B 1, T 256, H 4, KV 1, D 256; sliding window 512 (≥ T: full causal) and 128, the tiled
 * 8-row kernels) beside D 64 at the same tokens and heads (16-row kernels), forward and backward: mean GPU ms and
 * GFLOP/s, counting 4·D flops per visible (query, key) pair and head in the forward and 10·D in the backward (the
 * FlashAttention-2 convention, recomputation not counted).
 * Run: npx vitest bench --run --project gpu bench/kernels.bench.ts (VK_ICD_FILENAMES picks SwiftShader);
 * BENCH_KERNELS=gemma-attention (comma list of demo-attention, gemma-attention, rmsnorm, cross-entropy) runs a subset.
 * Prints `name: value` lines; skips (prints why) when the adapter lacks timestamp-query.
 */
import { afterAll, bench, describe } from 'vitest';
import { createStorage, packUniform, scratchBuffer, uniform, uploadStorage } from '../src/engine/gpu/buffers';
import { dispatch, linearGrid, type Binding } from '../src/engine/gpu/pipeline';
import oldSmallCode from './baseline/attention_small_rows1.wgsl?raw';
import { startProfiler } from '../src/engine/gpu/profiler';
import { submitAndWait, type GpuContext } from '../src/engine/gpu/context';
import { attentionBackward, attentionForward, type AttentionSmallRows, type AttentionVariant } from '../src/engine/kernels/attention';
import { rmsnormBackward, rmsnormForward, type RmsnormVariant } from '../src/engine/kernels/rmsnorm';
import { CE_STATS_PER_ROW, crossEntropyChunkForward, type CrossEntropyChunkVariant } from '../src/engine/kernels/crossEntropyChunk';
import { createNodeGpuContext } from '../src/node/gpu';

const REPS = Number(process.env.BENCH_REPS ?? 2);
const MAX_PASSES = 64;
const lines: string[] = [];

/** The engine's context; it asks for timestamp-query when the adapter has it (gpu/context.ts). */
async function timestampContext(): Promise<GpuContext | string> {
  const ctx = await createNodeGpuContext();
  return ctx.device.features.has('timestamp-query') ? ctx : 'adapter has no timestamp-query';
}

const ctxOrWhy = await timestampContext();
let ran = false;

/**
 * Records `record(enc)` with the engine's profiler active (gpu/profiler.ts: every dispatch its own pass, with a
 * timestamp pair), submits, and returns GPU ms per kernel label.
 * @throws Error when more than MAX_PASSES passes are recorded.
 */
async function timePasses(ctx: GpuContext, record: (enc: GPUCommandEncoder) => void): Promise<Map<string, number>> {
  const prof = startProfiler(ctx, MAX_PASSES);
  let timings;
  try {
    const enc = ctx.device.createCommandEncoder();
    record(enc);
    await submitAndWait(ctx, [enc.finish()]);
  } finally {
    timings = await prof.finish();
  }
  if (prof.dropped) throw new Error(`bench: more than ${MAX_PASSES} passes`);
  const ms = new Map<string, number>();
  for (const t of timings) ms.set(t.label, (ms.get(t.label) ?? 0) + t.ns / 1e6);
  return ms;
}

/** Mean GPU ms per label over REPS runs after one uncounted (compiling) run. */
async function measure(ctx: GpuContext, record: (enc: GPUCommandEncoder) => void): Promise<Map<string, number>> {
  await timePasses(ctx, record);
  const sum = new Map<string, number>();
  for (let r = 0; r < REPS; r++) for (const [l, v] of await timePasses(ctx, record)) sum.set(l, (sum.get(l) ?? 0) + v / REPS);
  return sum;
}

/**
 * Like {@link measure} for several variants at once, interleaved (one uncounted run of each, then REPS rounds of one
 * run of each), so that load from other processes on the CPU adapters falls on every variant alike.
 */
async function measureInterleaved<const R extends ReadonlyArray<(enc: GPUCommandEncoder) => void>>(
  ctx: GpuContext,
  records: R,
): Promise<{ -readonly [K in keyof R]: Map<string, number> }> {
  for (const record of records) await timePasses(ctx, record);
  const sums = records.map(() => new Map<string, number>());
  for (let r = 0; r < REPS; r++)
    for (const [i, record] of records.entries())
      for (const [l, v] of await timePasses(ctx, record)) sums[i]!.set(l, (sums[i]!.get(l) ?? 0) + v / REPS);
  return sums as { -readonly [K in keyof R]: Map<string, number> };
}

function total(m: Map<string, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

function report(name: string, fresh: Map<string, number>, old: Map<string, number>): void {
  const n = total(fresh);
  const o = total(old);
  const parts = (m: Map<string, number>) => [...m].map(([l, v]) => `${l} ${v.toFixed(2)}`).join(', ');
  lines.push(`${name}_ms: ${n.toFixed(3)} (was ${o.toFixed(3)}) [${parts(fresh)} | ${parts(old)}]`, `${name}: ${(n / o).toFixed(4)}`);
}

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => (((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1) * scale);
}

/** Attention buffers and shape of {@link attentionCase}. */
interface AttentionArgs {
  readonly B: number; readonly T: number; readonly H: number; readonly KV: number; readonly D: number; readonly scale: number;
  readonly q: Binding; readonly k: Binding; readonly v: Binding; readonly out: Binding; readonly lse: Binding;
  readonly dout: Binding; readonly dq: Binding; readonly dk: Binding; readonly dv: Binding;
}

/**
 * Records the one-row-per-thread 'small' attention as it was before register blocking (the shader copy
 * bench/baseline/attention_small_rows1.wgsl, dispatched as kernels/attention.ts did: one thread per row, 64 a workgroup).
 */
function oldSmallAttention(ctx: GpuContext, enc: GPUCommandEncoder, pass: 'forward' | 'backward', a: AttentionArgs): void {
  const p = uniform(ctx, packUniform([{ u32: a.B }, { u32: a.T }, { u32: a.H }, { u32: a.KV }, { f32: a.scale }]), 'attention.old.params');
  const constants = { D: a.D, WG: 64 };
  const code = oldSmallCode;
  if (pass === 'forward') {
    const spec = { label: 'attention.forward.old', code, entryPoint: 'forward', bindings: ['uniform', 'read', 'read', 'read', 'rw', 'rw'] as const, constants };
    dispatch(ctx, enc, spec, [p, a.q, a.k, a.v, a.out, a.lse], linearGrid(ctx, a.B * a.H * a.T, 64));
    return;
  }
  const delta = scratchBuffer(ctx, 'attention.delta', a.B * a.H * a.T * 4);
  const bindings = ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'] as const;
  dispatch(ctx, enc, { label: 'attention.backward.old.dq', code, entryPoint: 'backward_dq', bindings, constants },
    [p, a.q, a.k, a.v, a.lse, a.dout, a.out, delta, a.dq], linearGrid(ctx, a.B * a.H * a.T, 64));
  dispatch(ctx, enc, { label: 'attention.backward.old.dkdv', code, entryPoint: 'backward_dkdv', bindings, constants },
    [p, a.q, a.k, a.v, a.lse, a.dout, delta, a.dk, a.dv], linearGrid(ctx, a.B * a.KV * a.T, 64));
}

async function attentionCase(ctx: GpuContext): Promise<void> {
  const [B, T, H, KV, D] = [8, 215, 8, 4, 8];
  const q = uploadStorage(ctx, random(B * T * H * D, 1, 2), 'q');
  const k = uploadStorage(ctx, random(B * T * KV * D, 2, 2), 'k');
  const v = uploadStorage(ctx, random(B * T * KV * D, 3), 'v');
  const dout = uploadStorage(ctx, random(B * T * H * D, 4), 'dout');
  const [out, dq] = [createStorage(ctx, B * T * H * D * 4, 'out'), createStorage(ctx, B * T * H * D * 4, 'dq')];
  const [dk, dv] = [createStorage(ctx, B * T * KV * D * 4, 'dk'), createStorage(ctx, B * T * KV * D * 4, 'dv')];
  const lse = createStorage(ctx, B * H * T * 4, 'lse');
  const shape = { B, T, H, KV, D, scale: 1 / Math.sqrt(D) };
  type Run = (enc: GPUCommandEncoder) => void;
  const fwd = (variant: AttentionVariant, smallRows?: AttentionSmallRows): Run => (enc) =>
    attentionForward(ctx, enc, { ...shape, variant, smallRows, q, k, v, out, lse });
  const bwd = (variant: AttentionVariant, smallRows?: AttentionSmallRows): Run => (enc) =>
    attentionBackward(ctx, enc, { ...shape, variant, smallRows, q, k, v, out, lse, dout, dq, dk, dv });
  const all: AttentionArgs = { ...shape, q, k, v, out, lse, dout, dq, dk, dv };
  for (const [pass, run] of [['forward', fwd], ['backward', bwd]] as const) {
    const old: Run = (enc) => oldSmallAttention(ctx, enc, pass, all);
    const [r4, r2, r1, o, tiled] = await measureInterleaved(ctx, [run('small', 4), run('small', 2), run('small', 1), old, run('tiled')]);
    report(`attention_${pass}_small_rows4_vs_old_demo`, r4, o);
    report(`attention_${pass}_small_rows2_vs_old_demo`, r2, o);
    report(`attention_${pass}_small_rows1_vs_old_demo`, r1, o);
    report(`attention_${pass}_small_vs_tiled_demo`, r4, tiled);
  }
  for (const b of [q, k, v, dout, out, dq, dk, dv, lse]) b.destroy();
}

/** Visible (query, key) pairs of one head of a causal row block of T rows with window W (0: none). */
function visiblePairs(T: number, W: number): number {
  let n = 0;
  for (let t = 0; t < T; t++) n += W ? Math.min(t + 1, W) : t + 1;
  return n;
}

/**
 * Gemma 3 270M attention (D 256, windows 512 and 128) beside D 64 at the same B, T, H, KV: one line per pass and
 * window with both ms and GFLOP/s (interleaved runs, {@link measureInterleaved}).
 */
async function gemmaAttentionCase(ctx: GpuContext): Promise<void> {
  const [B, T, H, KV] = [1, 256, 4, 1];
  const sized = (D: number) => {
    const q = uploadStorage(ctx, random(B * T * H * D, 11, 2), `q${D}`);
    const k = uploadStorage(ctx, random(B * T * KV * D, 12, 2), `k${D}`);
    const v = uploadStorage(ctx, random(B * T * KV * D, 13), `v${D}`);
    const dout = uploadStorage(ctx, random(B * T * H * D, 14), `dout${D}`);
    const [out, dq] = [createStorage(ctx, B * T * H * D * 4, `out${D}`), createStorage(ctx, B * T * H * D * 4, `dq${D}`)];
    const [dk, dv] = [createStorage(ctx, B * T * KV * D * 4, `dk${D}`), createStorage(ctx, B * T * KV * D * 4, `dv${D}`)];
    const lse = createStorage(ctx, B * H * T * 4, `lse${D}`);
    return { B, T, H, KV, D, scale: 1 / Math.sqrt(D), q, k, v, out, lse, dout, dq, dk, dv };
  };
  const wide = sized(256);
  const narrow = sized(64);
  type Run = (enc: GPUCommandEncoder) => void;
  for (const window of [512, 128]) {
    const fwd = (a: AttentionArgs): Run => (enc) => attentionForward(ctx, enc, { ...a, window });
    const bwd = (a: AttentionArgs): Run => (enc) => attentionBackward(ctx, enc, { ...a, window });
    for (const [pass, run, flopsPerD] of [['forward', fwd, 4], ['backward', bwd, 10]] as const) {
      const [w, n] = await measureInterleaved(ctx, [run(wide), run(narrow)]);
      const pairs = B * H * visiblePairs(T, window);
      const gflops = (D: number, ms: number) => (flopsPerD * D * pairs) / (ms * 1e6);
      const [wm, nm] = [total(w), total(n)];
      lines.push(`attention_${pass}_gemma270m_w${window}_D256_ms: ${wm.toFixed(3)} (${gflops(256, wm).toFixed(2)} GFLOP/s) vs D64 ${nm.toFixed(3)} (${gflops(64, nm).toFixed(2)} GFLOP/s)`);
    }
  }
  for (const a of [wide, narrow]) for (const b of [a.q, a.k, a.v, a.dout, a.out, a.dq, a.dk, a.dv, a.lse]) (b as GPUBuffer).destroy();
}

async function rmsnormCase(ctx: GpuContext, rows: number, C: number, name: string): Promise<void> {
  const x = uploadStorage(ctx, random(rows * C, 5, 2), 'x');
  const w = uploadStorage(ctx, random(C, 6), 'w');
  const dy = uploadStorage(ctx, random(rows * C, 7), 'dy');
  const [y, dx] = [createStorage(ctx, rows * C * 4, 'y'), createStorage(ctx, rows * C * 4, 'dx')];
  const rstd = createStorage(ctx, rows * 4, 'rstd');
  const run = (variant: RmsnormVariant) => (enc: GPUCommandEncoder) => {
    rmsnormForward(ctx, enc, { rows, C, eps: 1e-5, x, weight: w, out: y, rstd, variant });
    rmsnormBackward(ctx, enc, { rows, C, x, weight: w, rstd, dout: dy, dx, variant });
  };
  report(name, await measure(ctx, run('row')), await measure(ctx, run('workgroup')));
  for (const b of [x, w, dy, y, dx, rstd]) b.destroy();
}

async function crossEntropyCase(ctx: GpuContext): Promise<void> {
  const [M, V] = [1720, 512];
  const logits = uploadStorage(ctx, random(M * V, 8, 4), 'logits');
  const targets = uploadStorage(ctx, Int32Array.from({ length: M }, (_, m) => (m % 5 === 0 ? -100 : (m * 7919) % V)), 'targets');
  const stats = createStorage(ctx, M * CE_STATS_PER_ROW * 4, 'stats');
  const losses = createStorage(ctx, M * 4, 'losses');
  const run = (variant: CrossEntropyChunkVariant) => (enc: GPUCommandEncoder) =>
    crossEntropyChunkForward(ctx, enc, { M, V, v0: 0, Vc: V, logits, targets, stats, losses, first: true, last: true, variant });
  report('cross_entropy_forward_row_vs_workgroup_demo', await measure(ctx, run('row')), await measure(ctx, run('workgroup')));
  for (const b of [logits, targets, stats, losses]) b.destroy();
}

describe('non-matmul kernels at the demo shapes (GPU timestamps per pass)', () => {
  bench(
    'attention, rmsnorm, cross-entropy: new variant vs old',
    async () => {
      if (ran) return; // tinybench may call the body again; one measured run is enough
      ran = true;
      if (typeof ctxOrWhy === 'string') {
        lines.push(`kernels bench skipped: ${ctxOrWhy}`);
        return;
      }
      const ctx = ctxOrWhy;
      lines.push(`adapter: ${ctx.adapter.description || ctx.adapter.vendor} (${process.env.VK_ICD_FILENAMES ?? 'default ICD'}), ${REPS} timed runs each`);
      const only = process.env.BENCH_KERNELS?.split(',');
      const want = (name: string) => !only || only.includes(name);
      if (want('demo-attention')) await attentionCase(ctx);
      if (want('gemma-attention')) await gemmaAttentionCase(ctx);
      if (want('rmsnorm')) {
        await rmsnormCase(ctx, 1720, 64, 'rmsnorm_row_vs_workgroup_demo_C64');
        await rmsnormCase(ctx, 1720 * 8, 8, 'rmsnorm_row_vs_workgroup_demo_qk_C8');
      }
      if (want('cross-entropy')) await crossEntropyCase(ctx);
    },
    { iterations: 1, warmupIterations: 0, time: 0 },
  );
});

afterAll(() => {
  console.log(lines.join('\n'));
});
