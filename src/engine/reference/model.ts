/**
 * CPU f64 reference of the whole causal LM (HF modeling_llama / qwen2 / qwen3 / gemma3, the maths of
 * ../shared/fixtures/README.md "Model math" and "Gemma 3"): the tensor table (arch/tensors.ts) read as f32 values and
 * the layer's op list (arch/layer.ts) interpreted with the reference kernels of this folder (embedding, rmsnorm,
 * matmul, rope, attention, swiglu) — none of the GPU code. The PyTorch fixtures check the op list itself.
 * LoRA (PEFT eval mode): y = x Wᵀ + b + s·(x Aᵀ) Bᵀ. Greedy generation here recomputes the whole sequence for
 * every new token (no KV cache), the independent reference of engine/generate. Slow: for tiny models in tests.
 */
import { readTensor, type Checkpoint } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import { decodeToF32 } from '../../io/dtype';
import { type LoraModuleWeights, type TargetModule } from '../model/loraTypes';
import { layerRope, ropeInvFreq, ropeKind, ropeTables } from '../model/rope';
import { layerAttention, layerOps, type Value } from '../arch/layer';
import { modulePath, normWidth, tensorTable, type NormName } from '../arch/tensors';
import { attentionForwardRef } from './attention';
import { embeddingRef } from './embedding';
import { matmulRef } from './matmul';
import { rmsnormRef } from './rmsnorm';
import { ropeForwardRef } from './rope';
import { swigluRef } from './swiglu';

/** One linear: W [out, in] and optional bias [out], f32 values. */
export interface RefLinear {
  readonly w: Float32Array;
  readonly bias: Float32Array | null;
  readonly outFeatures: number;
  readonly inFeatures: number;
}

/** One decoder layer's weights. */
export interface RefLayer {
  readonly norms: ReadonlyMap<NormName, Float32Array>;
  readonly linears: Readonly<Record<TargetModule, RefLinear>>;
}

/** The whole model on the CPU. embed / lmHead [V, C] (the same array when tied). */
export interface RefModel {
  readonly cfg: ModelConfig;
  readonly embed: Float32Array;
  readonly layers: readonly RefLayer[];
  readonly finalNorm: Float32Array;
  readonly lmHead: Float32Array;
}

/** LoRA for the reference: scaling s and lora_A [R, in] / lora_B [out, R] per HF module path (missing = none). */
export interface RefLora {
  readonly r: number;
  readonly scaling: number;
  readonly modules: ReadonlyMap<string, LoraModuleWeights>;
}

/**
 * Reads every tensor of the table (arch/tensors.ts) from `ckpt` as f32 (BF16/F16 upcast exactly).
 * @throws Error naming the tensor when it is missing or its size does not match
 */
export async function loadRefModel(cfg: ModelConfig, ckpt: Checkpoint): Promise<RefModel> {
  const values = new Map<string, Float32Array>();
  for (const t of tensorTable(cfg)) {
    if (!ckpt.tensors.has(t.name)) throw new Error(`reference model: ${ckpt.modelName} has no tensor ${t.name}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const v = decodeToF32((await readTensor(ckpt, t.name)).bytes, ckpt.tensors.get(t.name)!.info.dtype);
    if (v.length !== n) throw new Error(`reference model: ${t.name} has ${v.length} values, expected ${n}`);
    values.set(t.name, v);
  }
  const layers: RefLayer[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const norms = new Map<NormName, Float32Array>();
    const linears = {} as Record<TargetModule, RefLinear>;
    for (const t of tensorTable(cfg)) {
      if (t.layer !== l) continue;
      if (t.role === 'norm' && t.norm) norms.set(t.norm, values.get(t.name)!);
      if (t.role === 'linear' && t.module) {
        const [out, inF] = t.shape as [number, number];
        linears[t.module] = { w: values.get(t.name)!, bias: values.get(`${modulePath(l, t.module)}.bias`) ?? null, outFeatures: out, inFeatures: inF };
      }
    }
    layers.push({ norms, linears });
  }
  const embed = values.get('model.embed_tokens.weight')!;
  return { cfg, embed, layers, finalNorm: values.get('model.norm.weight')!, lmHead: cfg.tieWordEmbeddings ? embed : values.get('lm_head.weight')! };
}

/** RMSNorm of rows × C with the config's weight offset ((1 + w) for Gemma), f64. */
function normRef(cfg: ModelConfig, x: ArrayLike<number>, w: Float32Array, rows: number, C: number): Float64Array {
  const weight = cfg.rmsNormOffset ? Float64Array.from(w, (v) => 1 + v) : w;
  return rmsnormRef(x, weight, rows, C, cfg.rmsNormEps).y;
}

function linearRef(x: Float64Array, M: number, lin: RefLinear, lora: RefLora | null, path: string): Float64Array {
  const y = matmulRef({ M, N: lin.outFeatures, K: lin.inFeatures, a: x, w: lin.w, transB: true, ...(lin.bias ? { bias: lin.bias } : {}) });
  const ab = lora?.modules.get(path);
  if (!lora || !ab) return y;
  const u = matmulRef({ M, N: lora.r, K: lin.inFeatures, a: x, w: ab.a, transB: true });
  return matmulRef({ M, N: lin.outFeatures, K: lora.r, a: u, w: ab.b, transB: true, alpha: lora.scaling, init: y });
}

/**
 * Logits of every position (rows 'all', [T, V]) or of the last one ('last', [V]) for input_ids `ids` (B = 1,
 * positions 0..T−1), in f64.
 * @throws Error when an id is outside [0, V)
 */
export function refForwardLogits(m: RefModel, ids: readonly number[], lora: RefLora | null = null, rows: 'all' | 'last' = 'last'): Float64Array {
  const { cfg } = m;
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, vocabSize: V } = cfg;
  const T = ids.length;
  const tables = new Map(cfg.layerTypes.map((t) => [ropeKind(cfg, t), ropeTables(ropeInvFreq(layerRope(cfg, t)), T)]));
  let x = embeddingRef(ids, m.embed, V, C);
  if (cfg.embedScale !== 1) x = x.map((v) => v * cfg.embedScale);
  m.layers.forEach((w, l) => {
    const vals = new Map<Value, Float64Array>([['x', x]]);
    const get = (v: Value): Float64Array => {
      const a = vals.get(v);
      if (!a) throw new Error(`reference model: layer ${l} reads ${v} before it is written`);
      return a;
    };
    const { cos, sin } = tables.get(ropeKind(cfg, cfg.layerTypes[l] ?? 'full_attention'))!;
    for (const o of layerOps(cfg)) {
      switch (o.op) {
        case 'norm': {
          const heads = o.heads === 'q' ? H : o.heads === 'kv' ? KV : 1;
          vals.set(o.out, normRef(cfg, get(o.x), w.norms.get(o.norm)!, T * heads, normWidth(cfg, o.norm)));
          break;
        }
        case 'linear': {
          const y = linearRef(get(o.x), T, w.linears[o.module], lora, modulePath(l, o.module));
          vals.set(o.out, o.accumulate ? y.map((v, i) => v + (get(o.out)[i] as number)) : y);
          break;
        }
        case 'rope': vals.set(o.x, ropeForwardRef({ B: 1, T, nHeads: o.x === 'q' ? H : KV, D }, cos, sin, get(o.x))); break;
        case 'attention': vals.set('attn', attentionForwardRef({ B: 1, T, H, KV, D, ...layerAttention(cfg, l) }, get('q'), get('k'), get('v')).out); break;
        case 'glu': vals.set('act', swigluRef(get('gate'), get('up'), cfg.hiddenAct)); break;
        case 'copy': vals.set(o.to, get(o.from).slice()); break;
        case 'add': {
          const add = get(o.x);
          vals.set(o.into, get(o.into).map((v, i) => v + (add[i] as number)));
          break;
        }
      }
    }
    x = get('xOut');
  });
  const xs = rows === 'last' ? x.subarray((T - 1) * C) : x;
  const R = rows === 'last' ? 1 : T;
  const hF = normRef(cfg, xs, m.finalNorm, R, C);
  const logits = matmulRef({ M: R, N: V, K: C, a: hF, w: m.lmHead, transB: true });
  const cap = cfg.finalLogitSoftcap;
  return cap ? logits.map((z) => cap * Math.tanh(z / cap)) : logits;
}

/** Index of the largest value (lowest index on ties), as torch.argmax. */
function argmaxRef(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}

/**
 * Greedy decoding with a full recompute of the sequence for every new token (no cache): up to maxNewTokens ids,
 * stopping before a stop id.
 * @returns newIds (without the stop id), stopped, and the last-position logits each token was chosen from
 */
export function refGreedy(m: RefModel, promptIds: readonly number[], maxNewTokens: number, stopIds: ReadonlySet<number> = new Set(), lora: RefLora | null = null): { newIds: number[]; stopped: boolean; logits: Float64Array[] } {
  const seq = [...promptIds];
  const newIds: number[] = [];
  const logits: Float64Array[] = [];
  for (let i = 0; i < maxNewTokens; i++) {
    const row = refForwardLogits(m, seq, lora, 'last');
    logits.push(row);
    const id = argmaxRef(row);
    if (stopIds.has(id)) return { newIds, stopped: true, logits };
    newIds.push(id);
    seq.push(id);
  }
  return { newIds, stopped: false, logits };
}
