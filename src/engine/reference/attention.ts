/**
 * CPU f64 reference of causal grouped-query softmax attention (HF `eager_attention_forward` with `repeat_kv`),
 * forward and backward, computed straight from the definition with one [T] row of probabilities at a time.
 * Optional sliding window (HF masking_utils `sliding_window_overlay`: query t sees keys s with t − W < s ≤ t) and
 * logit soft-capping (Gemma 2/3 `attn_logit_softcapping`, HF modeling_gemma3.py `eager_attention_forward`:
 * S = cap·tanh(scale·q·k / cap), applied before the mask and the softmax).
 * Used by tests to check shaders/attention_*.wgsl; not on the training path.
 */

/** Shapes: q [B, T, H, D], k, v [B, T, KV, D]; query head h uses kv head floor(h / (H / KV)). */
export interface AttentionRefShape {
  readonly B: number;
  readonly T: number;
  readonly H: number;
  readonly KV: number;
  readonly D: number;
  readonly scale: number;
  /** Sliding window W in keys (row t sees keys t−W+1 … t); undefined or 0: full causal. */
  readonly window?: number;
  /** Logit soft-cap (scores → cap·tanh(scores/cap)); undefined or 0: none. */
  readonly softcap?: number;
}

function check(s: AttentionRefShape, arrays: Record<string, [ArrayLike<number>, number]>): void {
  if (s.H % s.KV !== 0) throw new Error(`reference/attention: H = ${s.H} is not a multiple of KV = ${s.KV}`);
  if (s.window !== undefined && !(Number.isInteger(s.window) && s.window >= 0)) throw new Error(`reference/attention: window must be a non-negative integer, got ${s.window}`);
  if (s.softcap !== undefined && !(Number.isFinite(s.softcap) && s.softcap >= 0)) throw new Error(`reference/attention: softcap must be finite and ≥ 0, got ${s.softcap}`);
  for (const [name, [a, n]] of Object.entries(arrays)) if (a.length !== n) throw new Error(`reference/attention: ${name} has ${a.length} values, expected ${n}`);
}

/** First key row that query row t sees: max(0, t − W + 1), or 0 without a window. */
export function attentionFirstKeyRef(t: number, window: number | undefined): number {
  return window ? Math.max(0, t - window + 1) : 0;
}

/**
 * Softmax row of query (b, h, t) over keys lo ≤ s ≤ t (lo = {@link attentionFirstKeyRef}): probabilities p[s − lo],
 * the logsumexp, and dcap[s − lo] = ∂S/∂(scale·q·k) (1 − tanh² with a soft-cap, else 1).
 */
function probs(s: AttentionRefShape, q: ArrayLike<number>, k: ArrayLike<number>, b: number, h: number, t: number): { lo: number; p: Float64Array; dcap: Float64Array; lse: number } {
  const { T, H, KV, D, scale } = s;
  const cap = s.softcap ?? 0;
  const g = Math.floor(h / (H / KV));
  const lo = attentionFirstKeyRef(t, s.window);
  const n = t - lo + 1;
  const sc = new Float64Array(n);
  const dcap = new Float64Array(n).fill(1);
  let mx = -Infinity;
  for (let i = 0; i < n; i++) {
    const j = lo + i;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += (q[((b * T + t) * H + h) * D + d] as number) * (k[((b * T + j) * KV + g) * D + d] as number);
    let x = dot * scale;
    if (cap > 0) {
      const th = Math.tanh(x / cap);
      x = cap * th;
      dcap[i] = 1 - th * th;
    }
    sc[i] = x;
    mx = Math.max(mx, x);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp((sc[i] as number) - mx);
  for (let i = 0; i < n; i++) sc[i] = Math.exp((sc[i] as number) - mx) / sum;
  return { lo, p: sc, dcap, lse: mx + Math.log(sum) };
}

/**
 * out[b,t,h] = Σ_{lo≤s≤t} softmax_s(S_ts)·v_s; lse[b,h,t] = log Σ_{lo≤s≤t} exp(S_ts), with S_ts = scale·q_t·k_s
 * (soft-capped when s.softcap > 0) and lo = max(0, t − W + 1) with a window W, else 0.
 * @returns out [B, T, H, D] and lse [B, H, T] as new f64 arrays.
 * @throws Error when H is not a multiple of KV, window or softcap is invalid, or an array has the wrong length.
 */
export function attentionForwardRef(s: AttentionRefShape, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>): { out: Float64Array; lse: Float64Array } {
  const { B, T, H, KV, D } = s;
  check(s, { q: [q, B * T * H * D], k: [k, B * T * KV * D], v: [v, B * T * KV * D] });
  const out = new Float64Array(B * T * H * D);
  const lse = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV));
      for (let t = 0; t < T; t++) {
        const r = probs(s, q, k, b, h, t);
        lse[(b * H + h) * T + t] = r.lse;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = r.lo; j <= t; j++) acc += (r.p[j - r.lo] as number) * (v[((b * T + j) * KV + g) * D + d] as number);
          out[((b * T + t) * H + h) * D + d] = acc;
        }
      }
    }
  return { out, lse };
}

/**
 * Gradients of Σ out ⊙ dout with respect to q, k, v (softmax backward: dS = P ⊙ (dP − rowsum(dP ⊙ P)),
 * where rowsum(dP ⊙ P) = dO_t·O_t; with a soft-cap dS is multiplied by 1 − tanh²(scale·q·k / cap)), summing dk, dv
 * over the H/KV query heads that share a kv head. Keys outside the window get no gradient from that row.
 * @param dout [B, T, H, D]. @returns dq [B, T, H, D], dk, dv [B, T, KV, D] as new f64 arrays.
 * @throws Error as {@link attentionForwardRef}.
 */
export function attentionBackwardRef(
  s: AttentionRefShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dout: ArrayLike<number>,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, T, H, KV, D, scale } = s;
  check(s, { q: [q, B * T * H * D], k: [k, B * T * KV * D], v: [v, B * T * KV * D], dout: [dout, B * T * H * D] });
  const dq = new Float64Array(B * T * H * D);
  const dk = new Float64Array(B * T * KV * D);
  const dv = new Float64Array(B * T * KV * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / KV));
      for (let t = 0; t < T; t++) {
        const { lo, p, dcap } = probs(s, q, k, b, h, t);
        const qo = ((b * T + t) * H + h) * D;
        const dp = new Float64Array(t - lo + 1);
        let rowDot = 0; // Σ_s P_ts dP_ts
        for (let j = lo; j <= t; j++) {
          let x = 0;
          for (let d = 0; d < D; d++) x += (dout[qo + d] as number) * (v[((b * T + j) * KV + g) * D + d] as number);
          dp[j - lo] = x;
          rowDot += (p[j - lo] as number) * x;
        }
        for (let j = lo; j <= t; j++) {
          const ko = ((b * T + j) * KV + g) * D;
          const pj = p[j - lo] as number;
          const ds = pj * ((dp[j - lo] as number) - rowDot) * (dcap[j - lo] as number);
          for (let d = 0; d < D; d++) {
            dv[ko + d] = (dv[ko + d] as number) + pj * (dout[qo + d] as number);
            dq[qo + d] = (dq[qo + d] as number) + scale * ds * (k[ko + d] as number);
            dk[ko + d] = (dk[ko + d] as number) + scale * ds * (q[qo + d] as number);
          }
        }
      }
    }
  return { dq, dk, dv };
}
