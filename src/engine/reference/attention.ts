/**
 * CPU f64 reference of causal grouped-query softmax attention (HF `eager_attention_forward` with `repeat_kv`),
 * forward and backward, computed straight from the definition with one [T] row of probabilities at a time.
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
}

function check(s: AttentionRefShape, arrays: Record<string, [ArrayLike<number>, number]>): void {
  if (s.H % s.KV !== 0) throw new Error(`reference/attention: H = ${s.H} is not a multiple of KV = ${s.KV}`);
  for (const [name, [a, n]] of Object.entries(arrays)) if (a.length !== n) throw new Error(`reference/attention: ${name} has ${a.length} values, expected ${n}`);
}

/** Softmax row of query (b, h, t) over keys s ≤ t: returns probabilities [t+1] and the logsumexp. */
function probs(s: AttentionRefShape, q: ArrayLike<number>, k: ArrayLike<number>, b: number, h: number, t: number): { p: Float64Array; lse: number } {
  const { T, H, KV, D, scale } = s;
  const g = Math.floor(h / (H / KV));
  const sc = new Float64Array(t + 1);
  let mx = -Infinity;
  for (let j = 0; j <= t; j++) {
    let dot = 0;
    for (let d = 0; d < D; d++) dot += (q[((b * T + t) * H + h) * D + d] as number) * (k[((b * T + j) * KV + g) * D + d] as number);
    sc[j] = dot * scale;
    mx = Math.max(mx, sc[j] as number);
  }
  let sum = 0;
  for (let j = 0; j <= t; j++) sum += Math.exp((sc[j] as number) - mx);
  for (let j = 0; j <= t; j++) sc[j] = Math.exp((sc[j] as number) - mx) / sum;
  return { p: sc, lse: mx + Math.log(sum) };
}

/**
 * out[b,t,h] = Σ_{s≤t} softmax_s(scale·q_t·k_s)·v_s; lse[b,h,t] = log Σ_{s≤t} exp(scale·q_t·k_s).
 * @returns out [B, T, H, D] and lse [B, H, T] as new f64 arrays.
 * @throws Error when H is not a multiple of KV or an array has the wrong length.
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
          for (let j = 0; j <= t; j++) acc += (r.p[j] as number) * (v[((b * T + j) * KV + g) * D + d] as number);
          out[((b * T + t) * H + h) * D + d] = acc;
        }
      }
    }
  return { out, lse };
}

/**
 * Gradients of Σ out ⊙ dout with respect to q, k, v (softmax backward: dS = P ⊙ (dP − rowsum(dP ⊙ P)),
 * where rowsum(dP ⊙ P) = dO_t·O_t), summing dk, dv over the H/KV query heads that share a kv head.
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
        const { p } = probs(s, q, k, b, h, t);
        const qo = ((b * T + t) * H + h) * D;
        const dp = new Float64Array(t + 1);
        let rowDot = 0; // Σ_s P_ts dP_ts
        for (let j = 0; j <= t; j++) {
          let x = 0;
          for (let d = 0; d < D; d++) x += (dout[qo + d] as number) * (v[((b * T + j) * KV + g) * D + d] as number);
          dp[j] = x;
          rowDot += (p[j] as number) * x;
        }
        for (let j = 0; j <= t; j++) {
          const ko = ((b * T + j) * KV + g) * D;
          const pj = p[j] as number;
          const ds = pj * ((dp[j] as number) - rowDot);
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
