/**
 * CPU f64 reference of the matmul kernel (shaders/matmul.wgsl) and of its backward.
 * Forward: y[M, N] = alpha·op(a)·op(w) + bias (+ y0 when accumulating), op as in torch `F.linear`
 * (transB: w [N, K], y = a·wᵀ) or plain `a @ w`. Backward: the chain rule of that product,
 * d op(a) = alpha·dy·op(w)ᵀ, d op(w) = alpha·op(a)ᵀ·dy, dbias = Σ_rows dy, mapped back through the transposes.
 */

/** Operands of {@link matmulRef}; plain arrays of decoded values (f32 or f64). */
export interface MatmulRefArgs {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** [M, K], or [K, M] when transA. */
  readonly a: ArrayLike<number>;
  readonly transA?: boolean;
  /** [N, K] when transB, else [K, N]. */
  readonly w: ArrayLike<number>;
  readonly transB: boolean;
  /** Default 1. */
  readonly alpha?: number;
  /** [N], added to every row. */
  readonly bias?: ArrayLike<number>;
  /** [M, N] previous output; when given the result is init + alpha·op(a)·op(w) + bias. */
  readonly init?: ArrayLike<number>;
}

/** Gradients of a scalar loss L with respect to a, w and bias, in the layouts of a, w, bias. */
export interface MatmulRefGrads {
  /** Same layout as a ([M, K], or [K, M] when transA). */
  readonly da: Float64Array;
  /** Same layout as w ([N, K] when transB, else [K, N]). */
  readonly dw: Float64Array;
  /** [N]. */
  readonly dbias: Float64Array;
}

function check(args: MatmulRefArgs, what: string): void {
  const { M, N, K } = args;
  const need = (name: string, arr: ArrayLike<number> | undefined, n: number): void => {
    if (arr && arr.length !== n) throw new Error(`${what}: ${name} has ${arr.length} values, expected ${n} (M=${M}, N=${N}, K=${K})`);
  };
  need('a', args.a, M * K);
  need('w', args.w, N * K);
  need('bias', args.bias, N);
  need('init', args.init, M * N);
}

/** op(a)[m, k]. */
function aAt(args: MatmulRefArgs, m: number, k: number): number {
  return (args.transA ? args.a[k * args.M + m] : args.a[m * args.K + k]) as number;
}

/** op(w)[k, n]. */
function wAt(args: MatmulRefArgs, k: number, n: number): number {
  return (args.transB ? args.w[n * args.K + k] : args.w[k * args.N + n]) as number;
}

/**
 * y[M, N] = init + alpha·op(a)·op(w) + bias, accumulated in f64.
 * @throws Error when an array length does not match M, N, K.
 */
export function matmulRef(args: MatmulRefArgs): Float64Array {
  check(args, 'matmulRef');
  const { M, N, K } = args;
  const alpha = args.alpha ?? 1;
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += aAt(args, m, k) * wAt(args, k, n);
      let v = alpha * s;
      if (args.bias) v += args.bias[n] as number;
      if (args.init) v += args.init[m * N + n] as number;
      y[m * N + n] = v;
    }
  }
  return y;
}

/**
 * Backward of {@link matmulRef} given dy = ∂L/∂y [M, N]. (init passes dy through unchanged.)
 * @throws Error when an array length does not match M, N, K.
 */
export function matmulBackwardRef(args: MatmulRefArgs, dy: ArrayLike<number>): MatmulRefGrads {
  check(args, 'matmulBackwardRef');
  const { M, N, K } = args;
  if (dy.length !== M * N) throw new Error(`matmulBackwardRef: dy has ${dy.length} values, expected M·N = ${M * N}`);
  const alpha = args.alpha ?? 1;
  const da = new Float64Array(M * K);
  const dw = new Float64Array(N * K);
  const dbias = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let s = 0; // d op(a)[m, k] = alpha · Σ_n dy[m, n] · op(w)[k, n]
      for (let n = 0; n < N; n++) s += (dy[m * N + n] as number) * wAt(args, k, n);
      da[args.transA ? k * M + m : m * K + k] = alpha * s;
    }
  }
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      let s = 0; // d op(w)[k, n] = alpha · Σ_m op(a)[m, k] · dy[m, n]
      for (let m = 0; m < M; m++) s += aAt(args, m, k) * (dy[m * N + n] as number);
      dw[args.transB ? n * K + k : k * N + n] = alpha * s;
    }
  }
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) dbias[n] = (dbias[n] as number) + (dy[m * N + n] as number);
  return { da, dw, dbias };
}
