/**
 * CPU f64 reference of RMSNorm (HF LlamaRMSNorm, transformers models/llama/modeling_llama.py):
 * y[r, c] = w[c]·x[r, c]·rstd[r], rstd[r] = 1/sqrt(mean_c x[r, c]² + eps); backward w.r.t. x (w frozen).
 */

function check(what: string, rows: number, C: number, arrays: Record<string, [ArrayLike<number>, number]>): void {
  for (const [name, [a, n]] of Object.entries(arrays)) {
    if (a.length !== n) throw new Error(`${what}: ${name} has ${a.length} values, expected ${n} (rows=${rows}, C=${C})`);
  }
}

/**
 * Forward over `rows` rows of C values.
 * @returns y [rows, C] and rstd [rows], f64.
 * @throws Error when an array length does not match rows, C.
 */
export function rmsnormRef(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, C: number, eps: number): { y: Float64Array; rstd: Float64Array } {
  check('rmsnormRef', rows, C, { x: [x, rows * C], weight: [w, C] });
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
 * ∂L/∂x given dy = ∂L/∂y: dx[r, c] = s·w[c]·dy[r, c] − x[r, c]·s³·(Σ_j w[j]·dy[r, j]·x[r, j])/C, s = rstd[r]
 * (from ∂s/∂x[r, j] = −s³·x[r, j]/C). rstd is recomputed from x in f64.
 * @returns dx [rows, C], f64.
 * @throws Error when an array length does not match rows, C.
 */
export function rmsnormBackwardRef(x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, rows: number, C: number, eps: number): Float64Array {
  check('rmsnormBackwardRef', rows, C, { x: [x, rows * C], weight: [w, C], dy: [dy, rows * C] });
  const { rstd } = rmsnormRef(x, w, rows, C, eps);
  const dx = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    const s = rstd[r] as number;
    let g = 0;
    for (let c = 0; c < C; c++) g += (w[c] as number) * (dy[r * C + c] as number) * (x[r * C + c] as number);
    for (let c = 0; c < C; c++) dx[r * C + c] = s * (w[c] as number) * (dy[r * C + c] as number) - (x[r * C + c] as number) * s ** 3 * (g / C);
  }
  return dx;
}
