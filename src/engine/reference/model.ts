/**
 * CPU f64 reference of the whole causal LM (HF modeling_llama / modeling_qwen2 / modeling_qwen3, the maths of
 * ../shared/fixtures/README.md "Model math"), built only from the reference kernels of this folder (embedding,
 * rmsnorm, matmul, rope, attention, swiglu) on f32 weights decoded from the checkpoint — none of the GPU code.
 * LoRA (PEFT eval mode): y = x Wᵀ + b + s·(x Aᵀ) Bᵀ. Greedy generation here recomputes the whole sequence for
 * every new token (no KV cache), the independent reference of engine/generate. Slow: for tiny models in tests.
 */
import { readTensor, type Checkpoint } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import { decodeToF32 } from '../../io/dtype';
import { TARGET_MODULES, type LoraModuleWeights, type TargetModule } from '../model/loraTypes';
import { ropeInvFreq, ropeTables } from '../model/rope';
import { linearHasBias, modulePath } from '../model/weights';
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
  readonly inputNorm: Float32Array;
  readonly postAttentionNorm: Float32Array;
  readonly qNorm: Float32Array | null;
  readonly kNorm: Float32Array | null;
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
 * Reads every tensor `cfg` implies from `ckpt` as f32 (BF16/F16 upcast exactly).
 * @throws Error naming the tensor when it is missing or its size does not match
 */
export async function loadRefModel(cfg: ModelConfig, ckpt: Checkpoint): Promise<RefModel> {
  const get = async (name: string, n: number): Promise<Float32Array> => {
    if (!ckpt.tensors.has(name)) throw new Error(`reference model: ${ckpt.modelName} has no tensor ${name}`);
    const t = await readTensor(ckpt, name);
    const v = decodeToF32(t.bytes, t.info.dtype);
    if (v.length !== n) throw new Error(`reference model: ${name} has ${v.length} values, expected ${n}`);
    return v;
  };
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, vocabSize: V } = cfg;
  const shapes: Record<TargetModule, [number, number]> = {
    q_proj: [H * D, C], k_proj: [KV * D, C], v_proj: [KV * D, C], o_proj: [C, H * D], gate_proj: [I, C], up_proj: [I, C], down_proj: [C, I],
  };
  const embed = await get('model.embed_tokens.weight', V * C);
  const layers: RefLayer[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const linears = {} as Record<TargetModule, RefLinear>;
    for (const m of TARGET_MODULES) {
      const [out, inF] = shapes[m];
      const p = modulePath(l, m);
      linears[m] = { w: await get(`${p}.weight`, out * inF), bias: linearHasBias(cfg, m) ? await get(`${p}.bias`, out) : null, outFeatures: out, inFeatures: inF };
    }
    layers.push({
      inputNorm: await get(`model.layers.${l}.input_layernorm.weight`, C),
      postAttentionNorm: await get(`model.layers.${l}.post_attention_layernorm.weight`, C),
      qNorm: cfg.qkNorm ? await get(`model.layers.${l}.self_attn.q_norm.weight`, D) : null,
      kNorm: cfg.qkNorm ? await get(`model.layers.${l}.self_attn.k_norm.weight`, D) : null,
      linears,
    });
  }
  const finalNorm = await get('model.norm.weight', C);
  const lmHead = cfg.tieWordEmbeddings ? embed : await get('lm_head.weight', V * C);
  return { cfg, embed, layers, finalNorm, lmHead };
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
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, vocabSize: V, rmsNormEps: eps } = cfg;
  const T = ids.length;
  const { cos, sin } = ropeTables(ropeInvFreq(cfg), T);
  let x = embeddingRef(ids, m.embed, V, C);
  m.layers.forEach((w, l) => {
    const L = w.linears;
    const h = rmsnormRef(x, w.inputNorm, T, C, eps).y;
    let q = linearRef(h, T, L.q_proj, lora, modulePath(l, 'q_proj'));
    let k = linearRef(h, T, L.k_proj, lora, modulePath(l, 'k_proj'));
    const v = linearRef(h, T, L.v_proj, lora, modulePath(l, 'v_proj'));
    if (w.qNorm && w.kNorm) {
      q = rmsnormRef(q, w.qNorm, T * H, D, eps).y;
      k = rmsnormRef(k, w.kNorm, T * KV, D, eps).y;
    }
    q = ropeForwardRef({ B: 1, T, nHeads: H, D }, cos, sin, q);
    k = ropeForwardRef({ B: 1, T, nHeads: KV, D }, cos, sin, k);
    const attn = attentionForwardRef({ B: 1, T, H, KV, D, scale: 1 / Math.sqrt(D) }, q, k, v).out;
    x = linearRef(attn, T, L.o_proj, lora, modulePath(l, 'o_proj')).map((o, i) => o + (x[i] as number));
    const h2 = rmsnormRef(x, w.postAttentionNorm, T, C, eps).y;
    const act = swigluRef(linearRef(h2, T, L.gate_proj, lora, modulePath(l, 'gate_proj')), linearRef(h2, T, L.up_proj, lora, modulePath(l, 'up_proj')));
    x = linearRef(act, T, L.down_proj, lora, modulePath(l, 'down_proj')).map((o, i) => o + (x[i] as number));
  });
  const xs = rows === 'last' ? x.subarray((T - 1) * C) : x;
  const R = rows === 'last' ? 1 : T;
  const hF = rmsnormRef(xs, m.finalNorm, R, C, eps).y;
  return matmulRef({ M: R, N: V, K: C, a: hF, w: m.lmHead, transB: true });
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
