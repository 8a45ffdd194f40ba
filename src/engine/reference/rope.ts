/**
 * CPU f64 reference of RoPE in HF `rotate_half` layout (transformers `modeling_llama.py` `apply_rotary_pos_emb`),
 * forward and backward. Used by tests to check shaders/rope.wgsl; not on the training path.
 */

/** Shape of a RoPE call: x [B, T, nHeads, D], tables [T, D/2]. */
export interface RopeRefShape {
  readonly B: number;
  readonly T: number;
  readonly nHeads: number;
  /** Head dim, even. */
  readonly D: number;
}

function rotate(s: RopeRefShape, cos: ArrayLike<number>, sin: ArrayLike<number>, x: ArrayLike<number>, sign: 1 | -1): Float64Array {
  const { B, T, nHeads, D } = s;
  if (D % 2 !== 0) throw new Error(`reference/rope: D = ${D} must be even`);
  const half = D / 2;
  if (x.length !== B * T * nHeads * D) throw new Error(`reference/rope: x has ${x.length} values, expected B·T·nHeads·D = ${B * T * nHeads * D}`);
  if (cos.length < T * half || sin.length < T * half) throw new Error(`reference/rope: cos/sin need T·D/2 = ${T * half} values`);
  const y = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < nHeads; h++) {
        const base = ((b * T + t) * nHeads + h) * D;
        for (let d = 0; d < half; d++) {
          const c = cos[t * half + d] as number;
          const sn = sign * (sin[t * half + d] as number);
          const x1 = x[base + d] as number;
          const x2 = x[base + d + half] as number;
          y[base + d] = x1 * c - x2 * sn;
          y[base + d + half] = x2 * c + x1 * sn;
        }
      }
  return y;
}

/**
 * y = RoPE(x): for d < D/2, y[d] = x[d]·cos[t,d] − x[d+D/2]·sin[t,d]; y[d+D/2] = x[d+D/2]·cos[t,d] + x[d]·sin[t,d].
 * @param cos, sin [T, D/2] tables; x [B, T, nHeads, D]. Returns a new f64 array.
 * @throws Error when D is odd or an array has the wrong length.
 */
export function ropeForwardRef(s: RopeRefShape, cos: ArrayLike<number>, sin: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  return rotate(s, cos, sin, x, 1);
}

/**
 * dx = Rᵀ·dy (rotation by −angle), the gradient of {@link ropeForwardRef} with respect to x.
 * @param dy [B, T, nHeads, D]. Returns a new f64 array.
 */
export function ropeBackwardRef(s: RopeRefShape, cos: ArrayLike<number>, sin: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return rotate(s, cos, sin, dy, -1);
}
