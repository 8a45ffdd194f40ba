/**
 * RoPE frequencies and cos/sin tables, computed on the CPU exactly as Hugging Face does in f32
 * (modeling_rope_utils._compute_default_rope_parameters / _compute_linear_scaling_rope_parameters /
 * _compute_llama3_parameters; LlamaRotaryEmbedding.forward), and the RoPE of each layer type (Gemma 3: sliding layers
 * use rope_local_base_freq unscaled, modeling_gemma3.py rotary_emb_local).
 */
import type { LayerType, ModelConfig, RopeScaling } from '../../io/config/types';

/** What a RoPE table depends on: head dim D, base theta and scaling. */
export interface RopeSpec {
  readonly headDim: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling | null;
}

/** The RoPE of layers of type `t`: sliding layers use cfg.ropeLocalTheta (unscaled) when set, else the global RoPE. */
export function layerRope(cfg: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling' | 'ropeLocalTheta'>, t: LayerType): RopeSpec {
  if (t === 'sliding_attention' && cfg.ropeLocalTheta !== null) return { headDim: cfg.headDim, ropeTheta: cfg.ropeLocalTheta, ropeScaling: null };
  return { headDim: cfg.headDim, ropeTheta: cfg.ropeTheta, ropeScaling: cfg.ropeScaling };
}

/** The RoPE table keys a model needs: 'local' only when sliding layers have their own base. */
export type RopeKind = 'global' | 'local';

/** Which table layer type `t` reads. */
export function ropeKind(cfg: Pick<ModelConfig, 'ropeLocalTheta'>, t: LayerType): RopeKind {
  return t === 'sliding_attention' && cfg.ropeLocalTheta !== null ? 'local' : 'global';
}

const f = Math.fround;

/**
 * inv_freq[d] = 1 / rope_theta^(2d/D) for d < D/2, in f32 as torch computes it
 * (`arange(0, D, 2).float() / D`, `base ** that`, `1.0 / that`, each step rounded to f32),
 * then the linear (inv_freq / factor) or Llama-3 scaling when cfg.ropeScaling is set.
 * @returns Float32Array [D/2]
 */
export function ropeInvFreq(cfg: RopeSpec): Float32Array {
  const D = cfg.headDim;
  const half = Math.floor(D / 2);
  const inv = new Float32Array(half);
  for (let d = 0; d < half; d++) {
    const expo = f(f(2 * d) / D);
    inv[d] = f(1 / f(Math.pow(f(cfg.ropeTheta), expo)));
  }
  const s = cfg.ropeScaling;
  if (!s) return inv;
  if (s.ropeType === 'linear') return inv.map((v) => f(v / s.factor));
  // HF _compute_llama3_parameters (all f32 tensors in torch; we round each result to f32).
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const out = new Float32Array(half);
  for (let d = 0; d < half; d++) {
    const freq = inv[d] as number;
    const wavelen = f((2 * Math.PI) / freq);
    let v = wavelen > lowWavelen ? f(freq / s.factor) : freq;
    const smooth = f((s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
    const isMedium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    if (isMedium) v = f(f((1 - smooth) * f(v / s.factor)) + f(smooth * v));
    out[d] = v;
  }
  return out;
}

/**
 * cos/sin tables for positions 0..T-1: angle = f32(t · inv_freq[d]) (torch's f32 matmul of positions and inv_freq),
 * cos and sin rounded to f32.
 * @returns cos, sin: Float32Array [T, D/2] row-major
 */
export function ropeTables(invFreq: Float32Array, T: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < half; d++) {
      const angle = f(t * (invFreq[d] as number));
      cos[t * half + d] = Math.cos(angle);
      sin[t * half + d] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
