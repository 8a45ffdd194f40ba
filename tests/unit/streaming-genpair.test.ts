/**
 * The pair generator (tests/support/genPair.ts) and the buffer reuse of the streaming readers:
 * - tensorPlan reproduces the published parameter counts of Llama-3.2-1B (1,235,814,400) and SmolLM2-135M
 *   (134,515,008) from their real configs, and Qwen3's q_norm/k_norm, qwen2's q/k/v biases, untied lm_head;
 * - a tiny generated pair opens with openCheckpoint (sharded index), and its tensors equal the regenerated values;
 * - readF32Chunks with a scratch shared across tensors, decodeF32Fast into `out`, and mergeLoraRows in place give
 *   the same values as the allocating paths (decodeToF32 / mergeLoraRows without `out`).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeF32Fast } from '../../src/engine/analysis/fastDtype';
import { F32Scratch, readF32Chunks } from '../../src/engine/analysis/tensorChunks';
import { mergeLoraRows } from '../../src/engine/graft/mergeWeight';
import { openCheckpoint, readTensor } from '../../src/io/checkpoint';
import { decodeToF32 } from '../../src/io/dtype';
import { modelFilesFromDir } from '../../src/node/files';
import { genPair, splitShards, tensorPlan, tensorValues, type GenTensor } from '../support/genPair';

const CFG = '/work/shared/configs';
const cfgOf = (m: string): Record<string, unknown> => JSON.parse(readFileSync(join(CFG, m, 'config.json'), 'utf8')) as Record<string, unknown>;
const params = (ts: readonly GenTensor[]): number => ts.reduce((a, t) => a + t.numel, 0);
const TINY = { model_type: 'qwen3', vocab_size: 300, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 128, tie_word_embeddings: false };

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function allBits(t: GenTensor, chunk?: number): [Uint16Array, Uint16Array] {
  const b = new Uint16Array(t.numel);
  const i = new Uint16Array(t.numel);
  for (const c of tensorValues(t, chunk)) {
    b.set(c.base, c.start);
    i.set(c.instruct, c.start);
  }
  return [b, i];
}

describe('genPair tensor plan', () => {
  it('matches published parameter counts and per-family tensors', () => {
    expect(params(tensorPlan(cfgOf('meta-llama__Llama-3.2-1B-Instruct')))).toBe(1_235_814_400);
    expect(params(tensorPlan(cfgOf('HuggingFaceTB__SmolLM2-135M')))).toBe(134_515_008);
    const qwen3 = tensorPlan(cfgOf('Qwen__Qwen3-0.6B'));
    expect(qwen3.find((t) => t.name === 'model.layers.27.self_attn.k_norm.weight')?.shape).toEqual([128]);
    expect(qwen3.find((t) => t.name === 'model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([1024, 1024]);
    expect(qwen3.some((t) => t.name === 'lm_head.weight' || t.name.endsWith('.bias'))).toBe(false);
    const qwen2 = tensorPlan({ ...TINY, model_type: 'qwen2' }).map((t) => t.name);
    expect(qwen2.filter((n) => n.startsWith('model.layers.0.') && n.endsWith('.bias'))).toEqual(['model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias']);
    expect(qwen2.at(-1)).toBe('lm_head.weight');
  });

  it('splits into the requested shard count, in order', () => {
    const ts = tensorPlan(cfgOf('Qwen__Qwen3-0.6B'));
    for (const n of [1, 3, 4, 7]) {
      const s = splitShards(ts, n);
      expect(s.length).toBe(n);
      expect(s.flat().map((t) => t.name)).toEqual(ts.map((t) => t.name));
    }
  });

  it('values are deterministic whatever the chunk size; Instruct is a small perturbation of Base', () => {
    const t = tensorPlan(TINY)[0] as GenTensor;
    const [b1, i1] = allBits(t);
    const [b2, i2] = allBits(t, 7);
    expect(b2).toEqual(b1);
    expect(i2).toEqual(i1);
    const fb = decodeToF32(new Uint8Array(b1.buffer), 'BF16');
    const fi = decodeToF32(new Uint8Array(i1.buffer), 'BF16');
    let differ = 0;
    for (let k = 0; k < fb.length; k++) {
      expect(Math.abs((fi[k] as number) - (fb[k] as number))).toBeLessThanOrEqual(Math.abs(fb[k] as number) * (t.eps + 2 ** -8));
      if (fi[k] !== fb[k]) differ++;
    }
    expect(differ).toBeGreaterThan(fb.length / 10);
  });
});

describe('genPair on disk', () => {
  it('writes sharded folders that openCheckpoint reads back with the generated values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shadowft-genpair-'));
    dirs.push(dir);
    const pair = await genPair({ config: TINY, dir, layers: 2, baseShards: 4, instructShards: 2, chunkElems: 1000 });
    expect(pair.tensors.some((t) => t.name.startsWith('model.layers.2.'))).toBe(false);
    for (const [d, shards] of [[pair.baseDir, 4], [pair.instructDir, 2]] as const) {
      const index = JSON.parse(await readFile(join(d, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
      expect(index.metadata.total_size).toBe(pair.modelTensorBytes);
      expect(new Set(Object.values(index.weight_map)).size).toBe(shards);
      expect((JSON.parse(await readFile(join(d, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers).toBe(2);
      const ck = await openCheckpoint(await modelFilesFromDir(d));
      // Sorted: openCheckpoint lists shards in weight_map order (lm_head.weight first), not file order.
      expect([...ck.tensors.keys()].sort()).toEqual(pair.tensors.map((t) => t.name).sort());
      expect(ck.fileNames.length).toBe(shards);
      for (const t of pair.tensors) {
        const [b, i] = allBits(t);
        const { bytes } = await readTensor(ck, t.name);
        expect(new Uint16Array(new Uint8Array(bytes).buffer), t.name).toEqual(d === pair.baseDir ? b : i);
      }
    }
  });
});

describe('genPair single shard', () => {
  it('writes model.safetensors without an index when one shard is asked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shadowft-genpair1-'));
    dirs.push(dir);
    const pair = await genPair({ config: TINY, dir, layers: 1, baseShards: 1, instructShards: 2 });
    expect((await readdir(pair.baseDir)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json']);
    expect((await openCheckpoint(await modelFilesFromDir(pair.instructDir))).fileNames.length).toBe(2);
  });
});

describe('streaming buffer reuse', () => {
  it('decodeF32Fast into `out` equals decodeToF32 (BF16 and F16), as a view of out', () => {
    const bits = new Uint16Array(5000).map((_, k) => (k * 40503 + 17) & 0xffff);
    const bytes = new Uint8Array(bits.buffer);
    for (const dt of ['BF16', 'F16'] as const) {
      const out = new Float32Array(6000);
      const got = decodeF32Fast(bytes, dt, out);
      expect(got.buffer).toBe(out.buffer);
      const want = decodeToF32(bytes, dt);
      expect(Array.from(got).map((v, k) => Object.is(v, want[k]) || (Number.isNaN(v) && Number.isNaN(want[k])))).not.toContain(false);
      expect(decodeF32Fast(bytes, dt, new Float32Array(10)).length).toBe(5000);
    }
  });

  it('readF32Chunks with one scratch across tensors yields the same values as a whole-tensor decode', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shadowft-chunks-'));
    dirs.push(dir);
    const pair = await genPair({ config: TINY, dir, layers: 1, baseShards: 2, instructShards: 1 });
    const ck = await openCheckpoint(await modelFilesFromDir(pair.baseDir));
    const scratch = new F32Scratch();
    let buffer: ArrayBufferLike | null = null;
    for (const [name, loc] of ck.tensors) {
      const want = decodeToF32((await readTensor(ck, name)).bytes, 'BF16');
      const got = new Float32Array(want.length);
      for await (const c of readF32Chunks(loc, want.length, 999, undefined, scratch)) {
        buffer ??= c.values.buffer;
        expect(c.values.buffer, name).toBe(buffer);
        got.set(c.values, c.start);
      }
      expect(got, name).toEqual(want);
    }
  });

  it('mergeLoraRows in place equals the allocating merge; rejects a short out', () => {
    const inF = 37;
    const rows = 5;
    const r = 3;
    const rnd = (n: number, s: number): Float32Array => Float32Array.from({ length: n }, (_, k) => Math.sin(k * 12.9898 + s) * 0.1);
    const lora = { a: rnd(r * inF, 1), b: rnd(11 * r, 2), inFeatures: inF, outFeatures: 11 };
    const w = rnd(rows * inF, 3);
    const want = mergeLoraRows(w, 4, lora, r, 1.5);
    const inPlace = w.slice();
    expect(mergeLoraRows(inPlace, 4, lora, r, 1.5, inPlace)).toBe(inPlace);
    expect(inPlace).toEqual(want);
    expect(() => mergeLoraRows(w, 4, lora, r, 1.5, new Float32Array(3))).toThrow(/out has 3 elements, expected 185/);
  });
});
