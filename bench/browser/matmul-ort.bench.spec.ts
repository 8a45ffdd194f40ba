/**
 * matmul_vs_onnxruntime_webgpu: speed of our matmul ÷ speed of onnxruntime-web's WebGPU execution provider MatMul
 * (= ORT time ÷ our time; > 1 means ours is faster), in one headless Chromium page on the same WebGPU adapter
 * (SwiftShader without a GPU), per shape M×N×K and the minimum over the shapes.
 *
 * What is timed (bench/browser/matmul-ort.page.ts): per run, performance.now() around
 *   ours: encoding matmulAuto (the variant the model picks at that shape; F32 weight W [N, K] = Bᵀ, transB, the
 *         nn.Linear layout) into a fresh encoder + queue.submit + await queue.onSubmittedWorkDone() on our device;
 *   ORT:  await session.run({ A }) of a one-node ONNX MatMul (A [M, K] a GPU tensor on ORT's device, B [K, N] an f32
 *         initializer, output kept on the GPU) + await onSubmittedWorkDone() on ORT's device (ort.env.webgpu.device).
 * Neither side uploads or reads back inside the timed region. Each side is warmed up once (pipelines compiled), then
 * `reps` runs are interleaved (ours F32, ORT, ours BF16, ours F32 [K, N]); the best run of each side is used. The model bytes come from a
 * hand-written protobuf writer (bench/browser/onnx-matmul.ts; see why there).
 * `matmul_bf16_vs_onnxruntime_webgpu` is the same with our weight in BF16 (B holds bf16-exact values, so all three
 * products use the same numbers); ORT stays F32. `matmul_kn_vs_onnxruntime_webgpu` is ours F32 with W = B [K, N] itself
 * (!transB, ORT's own layout) instead of the nn.Linear layout.
 * Outputs checked per shape (the bench fails otherwise): ours F32 vs ORT, ours BF16 and ours [K, N] vs ours F32 over all outputs
 * within 1e-5·K, and ours F32, ours BF16 and ORT against an f64 CPU reference on four rows within 2·K·2⁻²⁴·Σ|a·b|.
 *
 * The page is built with its own Vite config (bench/browser/vite.matmul-ort.config.ts, output .tmp/bench-matmul-ort,
 * so the app's dist/ is untouched) and served by `vite preview` on E2E_PORT + 1 (4174 by default); the app server
 * that the bench config starts is not used by this spec.
 * Run: E2E_PORT=4391 npx playwright test --config bench/browser/playwright.config.ts bench/browser/matmul-ort.bench.spec.ts
 * MATMUL_ORT_ONLY=1720x64x64,512x512x512 runs only those shapes (then the minimum is over them only).
 * Prints `name: value` lines.
 */
import { expect, test } from '@playwright/test';
import { build, preview, type PreviewServer } from 'vite';
import { fileURLToPath } from 'node:url';
import type { MatmulOrtResult } from './matmul-ort.page';

const root = fileURLToPath(new URL('../..', import.meta.url));
const configFile = fileURLToPath(new URL('./vite.matmul-ort.config.ts', import.meta.url));
const port = Number(process.env['E2E_PORT'] ?? 4173) + 1;

/** [M, N, K, timed runs per side]: fewer runs where SwiftShader takes seconds per product. */
const SHAPES: ReadonlyArray<readonly [number, number, number, number]> = [
  [512, 512, 512, 3],
  [1024, 1024, 1024, 3],
  [512, 896, 4864, 3],
  [512, 4864, 896, 3],
  [1720, 64, 64, 5],
  [1720, 172, 64, 5],
  [1720, 64, 172, 5],
  [1720, 512, 64, 3],
  [1720, 8, 64, 5],
  [1720, 64, 8, 5],
];

/** MATMUL_ORT_VERBOSE=1: print ORT's log lines about node placement (which execution provider ran MatMul); ORT logs to console.error then, so page errors are not checked. */
const verbose = process.env['MATMUL_ORT_VERBOSE'] === '1';
let server: PreviewServer | undefined;

test.beforeAll(async () => {
  test.setTimeout(300_000);
  await build({ root, configFile, logLevel: 'warn' });
  server = await preview({ root, configFile, preview: { host: '127.0.0.1', port, strictPort: true } });
});

test.afterAll(async () => {
  await server?.close();
});

test('matmul vs onnxruntime-web WebGPU MatMul', async ({ page }) => {
  test.setTimeout(30 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (!verbose && m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} ${m.location().url}`);
    if (verbose && /placement|ExecutionProvider/i.test(m.text())) process.stdout.write(`[ort] ${m.text().slice(0, 300)}\n`);
  });
  await page.goto(`http://127.0.0.1:${port}/bench/browser/matmul-ort.html${verbose ? '?verbose' : ''}`);
  await page.waitForFunction(() => 'matmulOrt' in window);
  const best = (xs: readonly number[]): number => Math.min(...xs);
  const ratios: number[] = [];
  const ratiosBf16: number[] = [];
  const ratiosKn: number[] = [];
  const lines: string[] = [];
  const only = process.env['MATMUL_ORT_ONLY']?.split(',');
  for (const [M, N, K, reps] of SHAPES.filter(([m, n, k]) => !only || only.includes(`${m}x${n}x${k}`))) {
    const t0 = Date.now();
    const r: MatmulOrtResult = await page.evaluate((s) => window.matmulOrt.run(s), { M, N, K, reps });
    const name = `${M}x${N}x${K}`;
    const [ours, ort, bf16, kn] = [best(r.oursF32Ms), best(r.ortMs), best(r.oursBf16Ms), best(r.oursKnMs)];
    const gf = (ms: number): string => ((2 * M * N * K) / ms / 1e6).toFixed(3);
    ratios.push(ort / ours);
    ratiosBf16.push(ort / bf16);
    ratiosKn.push(ort / kn);
    const detail = `ours ${ours.toFixed(1)} ms (${gf(ours)} GFLOP/s, ${r.variant}), ORT ${ort.toFixed(1)} ms (${gf(ort)} GFLOP/s); best of ${reps}; max|ours−ORT| ${r.maxDiffOrt.toExponential(2)} ≤ ${r.tolerance.toExponential(2)}`;
    lines.push(`matmul_vs_onnxruntime_webgpu_${name}: ${(ort / ours).toFixed(3)} (${detail})`);
    lines.push(`matmul_bf16_vs_onnxruntime_webgpu_${name}: ${(ort / bf16).toFixed(3)} (ours BF16 ${bf16.toFixed(1)} ms, ${gf(bf16)} GFLOP/s)`);
    lines.push(`matmul_kn_vs_onnxruntime_webgpu_${name}: ${(ort / kn).toFixed(3)} (ours F32 W [K, N] ${kn.toFixed(1)} ms, ${gf(kn)} GFLOP/s)`);
    process.stdout.write(`${lines.slice(-3).join('\n')}\n  all runs ms: ours ${r.oursF32Ms.map((x) => x.toFixed(1)).join(' ')} | ORT ${r.ortMs.map((x) => x.toFixed(1)).join(' ')} | BF16 ${r.oursBf16Ms.map((x) => x.toFixed(1)).join(' ')} | [K, N] ${r.oursKnMs.map((x) => x.toFixed(1)).join(' ')}; CPU-ref worst/bound ours ${r.refWorst.ours.toFixed(3)} ORT ${r.refWorst.ort.toFixed(3)} BF16 ${r.refWorst.bf16.toFixed(3)}; ${((Date.now() - t0) / 1000).toFixed(0)} s; adapter ${r.adapter}\n`);
    expect(r.maxDiffOrt, `${name}: ours F32 vs ORT`).toBeLessThanOrEqual(r.tolerance);
    expect(r.maxDiffBf16, `${name}: ours BF16 vs ours F32`).toBeLessThanOrEqual(r.tolerance);
    expect(r.maxDiffKn, `${name}: ours W [K, N] vs ours W [N, K]`).toBeLessThanOrEqual(r.tolerance);
    expect(r.refWorst.ours, `${name}: ours vs CPU reference`).toBeLessThanOrEqual(1);
    expect(r.refWorst.ort, `${name}: ORT vs CPU reference`).toBeLessThanOrEqual(1);
    expect(r.refWorst.bf16, `${name}: ours BF16 vs CPU reference`).toBeLessThanOrEqual(1);
  }
  lines.push(`matmul_vs_onnxruntime_webgpu: ${Math.min(...ratios).toFixed(3)} (minimum over ${ratios.length} shapes)`);
  lines.push(`matmul_bf16_vs_onnxruntime_webgpu: ${Math.min(...ratiosBf16).toFixed(3)} (minimum over ${ratiosBf16.length} shapes)`);
  lines.push(`matmul_kn_vs_onnxruntime_webgpu: ${Math.min(...ratiosKn).toFixed(3)} (minimum over ${ratiosKn.length} shapes)`);
  process.stdout.write(`\n${lines.join('\n')}\n`);
  expect(errors, 'page errors').toEqual([]);
});
