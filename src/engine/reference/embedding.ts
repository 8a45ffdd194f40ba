/**
 * CPU reference of the embedding lookup (torch nn.Embedding forward): out[m, :] = table[input_ids[m], :]·scale
 * (scale: HF Gemma3TextScaledWordEmbedding's embed_scale = sqrt(hidden_size); 1 for the other families).
 * Backward (full-parameter training): dE[id, :] = scale·Σ_{m: ids[m] = id} dx[m, :].
 */

/**
 * Looks up rows of `table` [V, C] for `ids` [M] and multiplies them by `scale` (default 1); result [M, C] in f64.
 * @throws Error naming the row when an id is not an integer in [0, V), or when table.length ≠ V·C.
 */
export function embeddingRef(ids: ArrayLike<number>, table: ArrayLike<number>, V: number, C: number, scale = 1): Float64Array {
  if (table.length !== V * C) throw new Error(`embeddingRef: table has ${table.length} values, expected V·C = ${V}·${C}`);
  const out = new Float64Array(ids.length * C);
  for (let m = 0; m < ids.length; m++) {
    const id = ids[m] as number;
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`embeddingRef: input_ids[${m}] = ${id} is outside [0, ${V})`);
    for (let c = 0; c < C; c++) out[m * C + c] = (table[id * C + c] as number) * scale;
  }
  return out;
}

/**
 * ∂L/∂table given dx = ∂L/∂out [M, C]: dE[ids[m], :] += scale·dx[m, :] for every m.
 * @returns dE [V, C] in f64 (zero rows for ids not in the batch).
 * @throws Error naming the row when an id is not an integer in [0, V), or when dx.length ≠ M·C.
 */
export function embeddingBackwardRef(ids: ArrayLike<number>, dx: ArrayLike<number>, V: number, C: number, scale = 1): Float64Array {
  if (dx.length !== ids.length * C) throw new Error(`embeddingBackwardRef: dx has ${dx.length} values, expected M·C = ${ids.length}·${C}`);
  const dE = new Float64Array(V * C);
  for (let m = 0; m < ids.length; m++) {
    const id = ids[m] as number;
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`embeddingBackwardRef: input_ids[${m}] = ${id} is outside [0, ${V})`);
    for (let c = 0; c < C; c++) dE[id * C + c] = (dE[id * C + c] as number) + scale * (dx[m * C + c] as number);
  }
  return dE;
}
