/**
 * CPU f64 reference of the gated MLP activation h = act(g)·u and its backward (HF LlamaMLP / Gemma3MLP:
 * act_fn(gate_proj(x)) * up_proj(x)):
 *  - 'silu' (SwiGLU): torch.nn.functional.silu(z) = z·σ(z);
 *  - 'gelu_tanh' (GeGLU, HF "gelu_pytorch_tanh" = torch gelu(approximate="tanh"), transformers activations.py):
 *    0.5·z·(1 + tanh(u)), u = √(2/π)·(z + 0.044715·z³), written literally with Math.tanh (the kernel uses σ(2u)).
 */
import type { GluActivation } from '../kernels/swiglu';

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** σ(z) = 1/(1 + e^{−z}) without overflow. */
function sigmoid(z: number): number {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** act(z) and act'(z) of one gate value. */
function activation(z: number, act: GluActivation): { a: number; da: number } {
  if (act === 'gelu_tanh') {
    const t = Math.tanh(GELU_K * (z + GELU_C * z ** 3));
    return { a: 0.5 * z * (1 + t), da: 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * z * z) };
  }
  if (act !== 'silu') throw new Error(`reference/swiglu: act = ${String(act)}; expected 'silu' or 'gelu_tanh'`);
  const s = sigmoid(z);
  return { a: z * s, da: s * (1 + z * (1 - s)) };
}

function check(what: string, arrays: Record<string, ArrayLike<number>>): number {
  const n = (Object.values(arrays)[0] as ArrayLike<number>).length;
  for (const [name, a] of Object.entries(arrays)) {
    if (a.length !== n) throw new Error(`${what}: ${name} has ${a.length} values, expected ${n} (same as gate)`);
  }
  return n;
}

/**
 * h = act(g)·u elementwise, f64; act 'silu' (default) or 'gelu_tanh'.
 * @throws Error when gate and up lengths differ, or for an unknown act.
 */
export function swigluRef(gate: ArrayLike<number>, up: ArrayLike<number>, act: GluActivation = 'silu'): Float64Array {
  const n = check('swigluRef', { gate, up });
  const h = new Float64Array(n);
  for (let i = 0; i < n; i++) h[i] = activation(gate[i] as number, act).a * (up[i] as number);
  return h;
}

/**
 * Backward given dh: dgate = dh·u·act'(g), dup = dh·act(g), f64, with silu'(z) = σ(z)·(1 + z·(1 − σ(z))) and
 * gelu_tanh'(z) = 0.5·(1 + t) + 0.5·z·(1 − t²)·√(2/π)·(1 + 3·0.044715·z²), t = tanh(u).
 * @throws Error when the lengths differ, or for an unknown act.
 */
export function swigluBackwardRef(gate: ArrayLike<number>, up: ArrayLike<number>, dout: ArrayLike<number>, act: GluActivation = 'silu'): { dgate: Float64Array; dup: Float64Array } {
  const n = check('swigluBackwardRef', { gate, up, dout });
  const dgate = new Float64Array(n);
  const dup = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const { a, da } = activation(gate[i] as number, act);
    const d = dout[i] as number;
    dgate[i] = d * (up[i] as number) * da;
    dup[i] = d * a;
  }
  return { dgate, dup };
}
