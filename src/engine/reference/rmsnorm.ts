/**
 * CPU f64 reference of RMSNorm (HF LlamaRMSNorm, transformers models/llama/modeling_llama.py):
 * y[r, c] = a[c]·x[r, c]·rstd[r], rstd[r] = 1/sqrt(mean_c x[r, c]² + eps); backward w.r.t. x, and w.r.t. w
 * (full-parameter training).
 * a = w (offset 0) or a = 1 + w (offset 1: HF Gemma3RMSNorm, transformers models/gemma3/modeling_gemma3.py).
 */

/** The applied weight a [C]: w, or 1 + w. */
function applied(w: ArrayLike<number>, C: number, offset: 0 | 1): Float64Array {
  return Float64Array.from({ length: C }, (_, c) => offset + (w[c] as number));
}

function check(what: string, rows: number, C: number, arrays: Record<string, [ArrayLike<number>, number]>): void {
  for (const [name, [a, n]] of Object.entries(arrays)) {
    if (a.length !== n) throw new Error(`${what}: ${name} has ${a.length} values, expected ${n} (rows=${rows}, C=${C})`);
  }
}

/**
 * Forward over `rows` rows of C values; offset 1 applies (1 + w) instead of w.
 * @returns y [rows, C] and rstd [rows], f64.
 * @throws Error when an array length does not match rows, C.
 */
export function rmsnormRef(x: ArrayLike<number>, weight: ArrayLike<number>, rows: number, C: number, eps: number, offset: 0 | 1 = 0): { y: Float64Array; rstd: Float64Array } {
  check('rmsnormRef', rows, C, { x: [x, rows * C], weight: [weight, C] });
  const w = applied(weight, C, offset);
  const y = new Float64Array(rows * C);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += (x[r * C + c] as number) ** 2;
    const s = 1 / Math.sqrt(ss / C + eps);
    rstd[r] = s;
    for (let c = 0; c < C; c++) y[r * C + c] = (w[c] as number) * (x[r * C + c] as number) * s;
  }
  return { y, rstd };
}

/**
 * ∂L/∂x given dy = ∂L/∂y: dx[r, c] = s·a[c]·dy[r, c] − x[r, c]·s³·(Σ_j a[j]·dy[r, j]·x[r, j])/C, s = rstd[r]
 * (from ∂s/∂x[r, j] = −s³·x[r, j]/C), a = w or 1 + w (offset). rstd is recomputed from x in f64.
 * @returns dx [rows, C], f64.
 * @throws Error when an array length does not match rows, C.
 */
export function rmsnormBackwardRef(x: ArrayLike<number>, weight: ArrayLike<number>, dy: ArrayLike<number>, rows: number, C: number, eps: number, offset: 0 | 1 = 0): Float64Array {
  check('rmsnormBackwardRef', rows, C, { x: [x, rows * C], weight: [weight, C], dy: [dy, rows * C] });
  const { rstd } = rmsnormRef(x, weight, rows, C, eps, offset);
  const w = applied(weight, C, offset);
  const dx = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    const s = rstd[r] as number;
    let g = 0;
    for (let c = 0; c < C; c++) g += (w[c] as number) * (dy[r * C + c] as number) * (x[r * C + c] as number);
    for (let c = 0; c < C; c++) dx[r * C + c] = s * (w[c] as number) * (dy[r * C + c] as number) - (x[r * C + c] as number) * s ** 3 * (g / C);
  }
  return dx;
}

/**
 * ∂L/∂w given dy = ∂L/∂y: dw[c] = Σ_r dy[r, c]·x[r, c]·rstd[r] (∂a[c]/∂w[c] = 1 for a = w and a = 1 + w alike).
 * rstd is recomputed from x in f64.
 * @returns dw [C], f64.
 * @throws Error when an array length does not match rows, C.
 */
export function rmsnormWeightGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, rows: number, C: number, eps: number): Float64Array {
  check('rmsnormWeightGradRef', rows, C, { x: [x, rows * C], dy: [dy, rows * C] });
  const { rstd } = rmsnormRef(x, new Float64Array(C), rows, C, eps);
  const dw = new Float64Array(C);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) dw[c] = (dw[c] as number) + (dy[r * C + c] as number) * (x[r * C + c] as number) * (rstd[r] as number);
  return dw;
}
