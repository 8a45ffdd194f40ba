/**
 * CPU f64 reference of SwiGLU (HF LlamaMLP: act_fn(gate_proj(x)) * up_proj(x), act_fn = SiLU,
 * torch.nn.functional.silu(z) = z·σ(z)) and its backward.
 */

/** σ(z) = 1/(1 + e^{−z}) without overflow. */
function sigmoid(z: number): number {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

function check(what: string, arrays: Record<string, ArrayLike<number>>): number {
  const n = (Object.values(arrays)[0] as ArrayLike<number>).length;
  for (const [name, a] of Object.entries(arrays)) {
    if (a.length !== n) throw new Error(`${what}: ${name} has ${a.length} values, expected ${n} (same as gate)`);
  }
  return n;
}

/**
 * h = silu(g)·u elementwise, f64.
 * @throws Error when gate and up lengths differ.
 */
export function swigluRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const n = check('swigluRef', { gate, up });
  const h = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i] as number;
    h[i] = g * sigmoid(g) * (up[i] as number);
  }
  return h;
}

/**
 * Backward given dh: dgate = dh·u·σ(g)·(1 + g·(1 − σ(g))), dup = dh·silu(g), f64.
 * @throws Error when the lengths differ.
 */
export function swigluBackwardRef(gate: ArrayLike<number>, up: ArrayLike<number>, dout: ArrayLike<number>): { dgate: Float64Array; dup: Float64Array } {
  const n = check('swigluBackwardRef', { gate, up, dout });
  const dgate = new Float64Array(n);
  const dup = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i] as number;
    const s = sigmoid(g);
    const d = dout[i] as number;
    dgate[i] = d * (up[i] as number) * s * (1 + g * (1 - s));
    dup[i] = d * g * s;
  }
  return { dgate, dup };
}
