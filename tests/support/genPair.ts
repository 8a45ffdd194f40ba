/**
 * Generator of a real-shaped Base/Instruct pair on disk, for the streaming tests and the benchmarks: from a real
 * config.json (e.g. /work/shared/configs/Qwen__Qwen3-0.6B/config.json) it writes two HF model folders whose
 * tensors have the real names and shapes (embed_tokens [V, C]; per layer input_layernorm [C], q/k/v/o_proj with
 * biases when the config has them, q_norm/k_norm [D] for qwen3, post_attention_layernorm [C], gate/up/down_proj;
 * model.norm [C]; lm_head [V, C] only when untied), BF16, SHARDED with model.safetensors.index.json
 * (metadata.total_size, weight_map), plus config.json and tokenizer_config.json.
 * Values are deterministic pseudo-random and regenerable tensor by tensor ({@link tensorValues}), so a test can
 * compute references without reading the files. Base: random sign, exponent 2^-12..2^-5, random 7-bit mantissa
 * (norm weights in [1, 2)); Instruct = RNE_bf16(f32(W_B · (1 + ε·u))), u uniform in [-1, 1), ε per tensor
 * ({@link GenTensor.eps}), so σ varies per tensor (≈ ε/4). Everything is produced in chunks and written with a
 * FileHandle: memory stays at a few chunks whatever the model size. Never commit the output; write it under
 * os.tmpdir() and delete it afterwards.
 */
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeConfig } from '../../src/io/config';
import { tensorTable, type NormName, type TensorSpec } from '../../src/engine/arch/tensors';
import type { TargetModule } from '../../src/engine/model/loraTypes';

/** A layer's tensors in the order genPair has always written them (HF state_dict order of the Llama family). */
const LAYER_ORDER: readonly string[] = [
  'input_layernorm', 'q_proj', 'q_proj.bias', 'k_proj', 'k_proj.bias', 'v_proj', 'v_proj.bias', 'o_proj', 'o_proj.bias', 'q_norm', 'k_norm',
  'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm',
  'gate_proj', 'gate_proj.bias', 'up_proj', 'up_proj.bias', 'down_proj', 'down_proj.bias',
] satisfies readonly (NormName | `${TargetModule}` | `${TargetModule}.bias`)[];

/** One generated tensor (the same in both models). */
export interface GenTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly numel: number;
  /** BF16 bytes (2 · numel). */
  readonly byteLength: number;
  /** Relative noise amplitude of Instruct over Base for this tensor. */
  readonly eps: number;
  /** PRNG seed of this tensor (derived from the pair seed and the name). */
  readonly seed: number;
}

/** Options of {@link genPair}. */
export interface GenPairOptions {
  /** Parsed config.json of a llama / mistral / qwen2 / qwen3 model. */
  readonly config: Record<string, unknown>;
  /** Parent folder; `base/` and `instruct/` are created inside (must not exist yet). */
  readonly dir: string;
  /** Layer count to generate (default: the config's num_hidden_layers); written back into config.json. */
  readonly layers?: number;
  /** Shard count of the Base (default 4) and of the Instruct (default 3; different, as real pairs may be); 1 writes a
   * single model.safetensors without an index. */
  readonly baseShards?: number;
  readonly instructShards?: number;
  /** Pair seed (default 1). */
  readonly seed?: number;
  /** Elements generated per step (default 2^21 = 4 MiB of BF16 per model). */
  readonly chunkElems?: number;
  /** Write only the Base folder (for benches that need one real-shaped model); instructDir is then not created. */
  readonly baseOnly?: boolean;
}

/** What {@link genPair} wrote. */
export interface GenPair {
  readonly baseDir: string;
  readonly instructDir: string;
  /** Tensors in file order. */
  readonly tensors: readonly GenTensor[];
  /** The config.json written to both folders. */
  readonly config: Record<string, unknown>;
  /** Σ tensor bytes of one model (= index total_size). */
  readonly modelTensorBytes: number;
  /** Σ file bytes of both folders (shards, indexes, config and tokenizer files). */
  readonly totalFileBytes: number;
  /** Bytes of the largest tensor. */
  readonly largestTensorBytes: number;
}

/** FNV-1a 32-bit hash of a string (tensor seeds). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The tensors of a config, in HF state_dict order (embed, layers, norm, lm_head when untied), BF16.
 * @throws ConfigError / UnsupportedModelError for a config the engine cannot read.
 */
export function tensorPlan(config: Record<string, unknown>, seed = 1): GenTensor[] {
  const cfg = normalizeConfig(config, 'genPair config.json');
  // The engine's own tensor table (arch/tensors.ts), in HF state_dict order within a layer.
  const rank = (t: TensorSpec): number => {
    if (t.layer === null) return t.role === 'embed' ? -1 : t.role === 'final_norm' ? 1e9 : 1e9 + 1;
    const key = t.norm ?? `${t.module as TargetModule}${t.role === 'bias' ? '.bias' : ''}`;
    return t.layer * 100 + LAYER_ORDER.indexOf(key);
  };
  const specs = tensorTable(cfg).map((t, i) => ({ t, i })).sort((a, b) => rank(a.t) - rank(b.t) || a.i - b.i).map(({ t }) => t);
  return specs.map(({ name, shape }, k) => {
    const numel = shape.reduce((a, b) => a * b, 1);
    return { name, shape: [...shape], numel, byteLength: 2 * numel, eps: 0.01 * (1 + (k % 8)), seed: (fnv1a(name) ^ Math.imul(seed, 0x9e3779b1)) >>> 0 || 1 };
  });
}

/** One generated chunk: elements [start, start + base.length) of a tensor, BF16 bits of both models. */
export interface GenChunk {
  readonly start: number;
  readonly base: Uint16Array;
  readonly instruct: Uint16Array;
}

/**
 * Yields the BF16 bits of a tensor in both models, `chunkElems` elements at a time (reusing the same two buffers:
 * copy what you keep). Deterministic in (t.seed, element index) whatever the chunk size.
 */
export function* tensorValues(t: GenTensor, chunkElems = 1 << 21): Generator<GenChunk> {
  const isNorm = t.shape.length === 1 && t.name.includes('norm');
  let s1 = t.seed;
  let s2 = (t.seed ^ 0x5bd1e995) >>> 0 || 7;
  const n = Math.min(chunkElems, t.numel);
  const base = new Uint16Array(n);
  const inst = new Uint16Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const eps = t.eps;
  for (let start = 0; start < t.numel; start += n) {
    const m = Math.min(n, t.numel - start);
    for (let i = 0; i < m; i++) {
      s1 ^= s1 << 13; s1 ^= s1 >>> 17; s1 ^= s1 << 5;
      s2 ^= s2 << 13; s2 ^= s2 >>> 17; s2 ^= s2 << 5;
      const r = s1 >>> 0;
      const b = isNorm ? 0x3f80 | (r & 0x7f) : (r >>> 31 ? 0x8000 : 0) | ((122 - ((r >>> 7) & 7)) << 7) | (r & 0x7f);
      base[i] = b;
      u[0] = b << 16;
      f[0] = (f[0] as number) * (1 + eps * ((s2 >>> 0) / 2147483648 - 1));
      const x = u[0] as number;
      inst[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
    }
    yield { start, base: m === n ? base : base.subarray(0, m), instruct: m === n ? inst : inst.subarray(0, m) };
  }
}

/** Splits tensors (in order) into `count` shards of about equal bytes (each gets ≥ 1 tensor while any remain). */
export function splitShards(tensors: readonly GenTensor[], count: number): GenTensor[][] {
  const out: GenTensor[][] = [];
  let rest = tensors.reduce((a, t) => a + t.byteLength, 0);
  let k = 0;
  while (k < tensors.length) {
    const target = rest / (count - out.length);
    const cur: GenTensor[] = [];
    let size = 0;
    while (k < tensors.length && (cur.length === 0 || out.length === count - 1 || size < target)) {
      const t = tensors[k++] as GenTensor;
      cur.push(t);
      size += t.byteLength;
    }
    rest -= size;
    out.push(cur);
  }
  return out;
}

/** The safetensors header (8-byte length + JSON padded with spaces to 8 bytes) of a shard. */
function shardHeader(tensors: readonly GenTensor[]): Uint8Array {
  const h: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    h[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [off, off + t.byteLength] };
    off += t.byteLength;
  }
  const text = JSON.stringify(h);
  const len = Math.ceil(text.length / 8) * 8;
  const out = new Uint8Array(8 + len).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(len), true);
  out.set(new TextEncoder().encode(text), 8);
  return out;
}

/** Writes a model's shards sequentially as tensors arrive in order. */
class ShardWriter {
  private fh: FileHandle | null = null;
  private shard = -1;
  private readonly shardOf = new Map<string, number>();
  readonly names: string[];
  bytes = 0;
  constructor(private readonly dir: string, private readonly shards: readonly GenTensor[][]) {
    const p = (n: number): string => String(n).padStart(5, '0');
    this.names = shards.map((_, i) => (shards.length === 1 ? 'model.safetensors' : `model-${p(i + 1)}-of-${p(shards.length)}.safetensors`));
    shards.forEach((s, i) => s.forEach((t) => this.shardOf.set(t.name, i)));
  }
  async begin(t: GenTensor): Promise<void> {
    const k = this.shardOf.get(t.name) as number;
    if (k === this.shard) return;
    await this.fh?.close();
    this.shard = k;
    this.fh = await open(join(this.dir, this.names[k] as string), 'w');
    await this.write(shardHeader(this.shards[k] as GenTensor[]));
  }
  async write(bytes: Uint8Array): Promise<void> {
    await (this.fh as FileHandle).write(bytes);
    this.bytes += bytes.byteLength;
  }
  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
  }
  indexJson(): string {
    const map: [string, string][] = [];
    this.shards.forEach((s, i) => s.forEach((t) => map.push([t.name, this.names[i] as string])));
    map.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const total = this.shards.flat().reduce((a, t) => a + t.byteLength, 0);
    return JSON.stringify({ metadata: { total_size: total }, weight_map: Object.fromEntries(map) }, null, 2) + '\n';
  }
}

/**
 * Writes the Base and Instruct folders under `opts.dir` (see the file comment).
 * @returns the folders, the tensor list and sizes. @throws ConfigError for an unreadable config; fs errors.
 */
export async function genPair(opts: GenPairOptions): Promise<GenPair> {
  const config: Record<string, unknown> = { ...opts.config, ...(opts.layers !== undefined ? { num_hidden_layers: opts.layers } : {}) };
  const tensors = tensorPlan(config, opts.seed ?? 1);
  const baseDir = join(opts.dir, 'base');
  const instructDir = join(opts.dir, 'instruct');
  const wb = new ShardWriter(baseDir, splitShards(tensors, opts.baseShards ?? 4));
  const wi = opts.baseOnly ? null : new ShardWriter(instructDir, splitShards(tensors, opts.instructShards ?? 3));
  const tok = JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: config.max_position_embeddings ?? 2048, clean_up_tokenization_spaces: false }, null, 2) + '\n';
  const cfgText = JSON.stringify(config, null, 2) + '\n';
  let extra = 0;
  await mkdir(opts.dir, { recursive: true });
  for (const [dir, w] of wi ? ([[baseDir, wb], [instructDir, wi]] as const) : ([[baseDir, wb]] as const)) {
    await mkdir(dir);
    // One shard is a plain model.safetensors without an index, as HF saves it.
    const index = w.names.length > 1 ? w.indexJson() : '';
    await writeFile(join(dir, 'config.json'), cfgText);
    await writeFile(join(dir, 'tokenizer_config.json'), tok);
    if (index) await writeFile(join(dir, 'model.safetensors.index.json'), index);
    extra += Buffer.byteLength(cfgText) + Buffer.byteLength(tok) + Buffer.byteLength(index);
  }
  try {
    for (const t of tensors) {
      await Promise.all([wb.begin(t), wi?.begin(t)]);
      for (const c of tensorValues(t, opts.chunkElems)) {
        // Copies, since the generator reuses its buffers while both writes are in flight.
        await Promise.all([wb.write(new Uint8Array(c.base.slice().buffer)), wi?.write(new Uint8Array(c.instruct.slice().buffer))]);
      }
    }
  } finally {
    await Promise.all([wb.close(), wi?.close()]);
  }
  const modelTensorBytes = tensors.reduce((a, t) => a + t.byteLength, 0);
  return {
    baseDir,
    instructDir,
    tensors,
    config,
    modelTensorBytes,
    totalFileBytes: wb.bytes + (wi?.bytes ?? 0) + extra,
    largestTensorBytes: Math.max(...tensors.map((t) => t.byteLength)),
  };
}
