/**
 * CPU f64 reference of per-row cross-entropy with ignore_index −100 (torch `nn.functional.cross_entropy`,
 * reduction 'none'; HF `ForCausalLMLoss` divides the sum by the number of valid targets), forward and backward.
 * Used by tests to check the vocabulary-chunk cross-entropy (shaders/cross_entropy_chunk.wgsl) against the full row;
 * not on the training path.
 */

const IGNORE_INDEX = -100; // torch / HF ignore_index

function check(M: number, V: number, logits: ArrayLike<number>, targets: ArrayLike<number>): void {
  if (logits.length !== M * V) throw new Error(`reference/crossEntropy: logits has ${logits.length} values, expected M·V = ${M * V}`);
  if (targets.length !== M) throw new Error(`reference/crossEntropy: targets has ${targets.length} values, expected M = ${M}`);
  for (let m = 0; m < M; m++) {
    const t = targets[m] as number;
    if (t !== IGNORE_INDEX && !(Number.isInteger(t) && t >= 0 && t < V)) throw new Error(`reference/crossEntropy: row ${m} has target ${t}, expected −100 or an id in [0, ${V})`);
  }
}

/** Max and log Σ exp(x − max) of row m. */
function rowLogSumExp(V: number, logits: ArrayLike<number>, m: number): number {
  let mx = -Infinity;
  for (let i = 0; i < V; i++) mx = Math.max(mx, logits[m * V + i] as number);
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp((logits[m * V + i] as number) - mx);
  return mx + Math.log(s);
}

/**
 * losses[m] = logsumexp(logits[m]) − logits[m][targets[m]], 0 where targets[m] = −100.
 * @param logits [M, V]; targets [M]. @returns losses [M] (f64).
 * @throws Error when a length is wrong or a target is neither −100 nor in [0, V).
 */
export function crossEntropyRef(M: number, V: number, logits: ArrayLike<number>, targets: ArrayLike<number>): Float64Array {
  check(M, V, logits, targets);
  const out = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    const t = targets[m] as number;
    if (t !== IGNORE_INDEX) out[m] = rowLogSumExp(V, logits, m) - (logits[m * V + t] as number);
  }
  return out;
}

/**
 * Gradient of gradScale · Σ_m losses[m] with respect to logits: (softmax(logits[m]) − onehot(targets[m])) · gradScale,
 * zero rows where targets[m] = −100.
 * @returns dlogits [M, V] (f64). @throws Error as {@link crossEntropyRef}.
 */
export function crossEntropyBackwardRef(M: number, V: number, logits: ArrayLike<number>, targets: ArrayLike<number>, gradScale: number): Float64Array {
  check(M, V, logits, targets);
  const d = new Float64Array(M * V);
  for (let m = 0; m < M; m++) {
    const t = targets[m] as number;
    if (t === IGNORE_INDEX) continue;
    const lse = rowLogSumExp(V, logits, m);
    for (let i = 0; i < V; i++) d[m * V + i] = (Math.exp((logits[m * V + i] as number) - lse) - (i === t ? 1 : 0)) * gradScale;
  }
  return d;
}
