import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, maxAbsDiff } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { adamwStep } from '../../src/engine/kernels/adamw';
import { sumOfSquares } from '../../src/engine/kernels/sumsq';
import { adamwStepRef, clipCoefRef } from '../../src/engine/reference/adamw';
import { readSafetensorsHeader, readTensorBytes } from '../../src/io/safetensors';

const DIR = fileURLToPath(new URL('../../../shared/fixtures/llama-tiny/', import.meta.url));

interface Case2 {
  tensors: string[];
  optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  clip: { max_norm: number };
  grad_norm_before_clip: number[];
  clip_coef: number[];
}

/** Fixture Case 2 flattened: every LoRA tensor concatenated in `tensors` order. */
async function loadCase2() {
  const json = JSON.parse(await readFile(DIR + 'lora_step.json', 'utf8')) as Case2;
  const blob = await openAsBlob(DIR + 'lora_step.safetensors');
  const header = await readSafetensorsHeader(blob, 'lora_step.safetensors');
  const flat = async (prefix: string): Promise<Float32Array> => {
    const parts: Float32Array[] = [];
    for (const name of json.tensors) {
      const info = header.tensors.get(prefix + name);
      if (!info || info.dtype !== 'F32') throw new Error(`lora_step.safetensors: missing F32 tensor ${prefix}${name}`);
      const bytes = await readTensorBytes(blob, info);
      parts.push(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice());
    }
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) out.set(p, (o += p.length) - p.length);
    return out;
  };
  const grads = [await flat('grad/step1/'), await flat('grad/step2/'), await flat('grad/step3/')];
  const after = [await flat('after/step1/'), await flat('after/step2/'), await flat('final/')];
  const hyper = {
    lr: json.optimizer.lr,
    beta1: json.optimizer.betas[0],
    beta2: json.optimizer.betas[1],
    eps: json.optimizer.eps,
    weightDecay: json.optimizer.weight_decay,
    maxGradNorm: json.clip.max_norm,
  };
  return { json, initial: await flat(''), grads, after, hyper };
}

function sumSq(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) ** 2;
  return s;
}

describe('adamw', () => {
  it('the f64 CPU reference reproduces fixture Case 2 (torch AdamW + clip_grad_norm_, 3 steps)', async () => {
    const { json, initial, grads, after, hyper } = await loadCase2();
    const state = { params: Float64Array.from(initial), m: new Float64Array(initial.length), v: new Float64Array(initial.length) };
    for (let t = 1; t <= 3; t++) {
      const g = grads[t - 1] as Float32Array;
      const nsq = sumSq(g);
      expect(Math.sqrt(nsq)).toBeCloseTo(json.grad_norm_before_clip[t - 1] as number, 5);
      expect(clipCoefRef(nsq, hyper.maxGradNorm)).toBeCloseTo(json.clip_coef[t - 1] as number, 6);
      adamwStepRef(state, g, nsq, hyper, t);
      expectClose(state.params, after[t - 1] as Float32Array, 1e-7, 0, `reference after step ${t}`);
    }
  });

  it('GPU replay of fixture Case 2 (clipping active, norm from sumOfSquares) matches the goldens', async () => {
    const ctx = await testGpu();
    const { json, initial, grads, after, hyper } = await loadCase2();
    const n = initial.length;
    const params = uploadStorage(ctx, initial, 'params');
    const m = createStorage(ctx, n * 4, 'm');
    const v = createStorage(ctx, n * 4, 'v');
    const nsq = createStorage(ctx, 4, 'gradNormSq');
    for (let t = 1; t <= 3; t++) {
      const gb = uploadStorage(ctx, grads[t - 1] as Float32Array, `grads${t}`);
      const enc = ctx.device.createCommandEncoder();
      sumOfSquares(ctx, enc, { n, x: gb, out: nsq });
      adamwStep(ctx, enc, { n, params, grads: gb, m, v, gradNormSq: nsq, ...hyper, step: t });
      await submitAndWait(ctx, [enc.finish()]);
      const norm = Math.sqrt((await readF32(ctx, nsq, 0, 1))[0] as number);
      expect(Math.abs(norm - (json.grad_norm_before_clip[t - 1] as number))).toBeLessThan(1e-5 * norm);
      const got = await readF32(ctx, params, 0, n);
      if (process.env.ADAMW_VERBOSE) console.log('step', t, maxAbsDiff(got, after[t - 1] as Float32Array));
      expectClose(got, after[t - 1] as Float32Array, 5e-7, 0, `GPU params after step ${t}`);
      gb.destroy();
    }
    for (const b of [params, m, v, nsq]) b.destroy();
  });

  it.each([
    ['inactive (maxGradNorm 0 disables clipping)', 0],
    ['inactive (norm below maxGradNorm 100)', 100],
    ['active (maxGradNorm 0.5)', 0.5],
  ])('3 GPU steps match the f64 reference loop, clipping %s', async (_what, maxGradNorm) => {
    const ctx = await testGpu();
    const { initial, grads, hyper } = await loadCase2();
    const h = { ...hyper, maxGradNorm, weightDecay: 0.1 };
    const n = initial.length;
    const state = { params: Float64Array.from(initial), m: new Float64Array(n), v: new Float64Array(n) };
    const params = uploadStorage(ctx, initial, 'params');
    const m = createStorage(ctx, n * 4, 'm');
    const v = createStorage(ctx, n * 4, 'v');
    for (let t = 1; t <= 3; t++) {
      const g = grads[t - 1] as Float32Array;
      const nsq = sumSq(g);
      adamwStepRef(state, g, nsq, h, t);
      const gb = uploadStorage(ctx, g, `grads${t}`);
      const nb = uploadStorage(ctx, Float32Array.of(nsq), 'gradNormSq');
      const enc = ctx.device.createCommandEncoder();
      adamwStep(ctx, enc, { n, params, grads: gb, m, v, gradNormSq: nb, ...h, step: t });
      await submitAndWait(ctx, [enc.finish()]);
      gb.destroy();
      nb.destroy();
    }
    expectClose(await readF32(ctx, params, 0, n), state.params, 5e-7, 0, `GPU params after 3 steps, maxGradNorm ${maxGradNorm}`);
    expectClose(await readF32(ctx, m, 0, n), state.m, 1e-7, 1e-5, `GPU exp_avg, maxGradNorm ${maxGradNorm}`);
    expectClose(await readF32(ctx, v, 0, n), state.v, 1e-12, 1e-5, `GPU exp_avg_sq, maxGradNorm ${maxGradNorm}`);
    for (const b of [params, m, v]) b.destroy();
  });

  it('rejects a 0-based step and a too-small buffer', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 16, 'b');
    const enc = ctx.device.createCommandEncoder();
    const args = { n: 4, params: b, grads: b, m: b, v: b, gradNormSq: b, maxGradNorm: 1, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    expect(() => adamwStep(ctx, enc, { ...args, step: 0 })).toThrow(/1-based/);
    expect(() => adamwStep(ctx, enc, { ...args, n: 5, step: 1 })).toThrow(/params \[n=5\] f32 needs 20 bytes but its binding holds 16 bytes/);
    b.destroy();
  });
});
