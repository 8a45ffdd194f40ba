/**
 * The LoRA merge of one weight: W' = W + s·B·A (PEFT `tuners/lora/layer.py` Linear.merge / get_delta_weight;
 * Shadow-FT §3.1 grafts the Base-trained delta onto the Instruct weight), s = α/r or α/√r (rsLoRA).
 * Precision: inputs are f32 (stored values upcast exactly); B·A is accumulated in f64, s·(B·A) is added to W in
 * f64, and the sum is rounded once to f32 (../shared/fixtures/README.md case 4); the caller then rounds to the
 * stored dtype (BF16/F16 round-to-nearest-even, src/io/dtype.ts).
 */
import type { WeightDType } from '../../io/dtype';
import { encodeF32Fast } from '../analysis/fastDtype';
import type { LoraModuleWeights } from '../model/loraTypes';

/**
 * Merges rows [row0, row0 + nRows) of one weight.
 * @param w f32 values of those rows of W [out, in] (length nRows · in), row-major.
 * @param row0 index of the first row in the full weight (selects the rows of lora_B).
 * @param lora lora_A [R, in] and lora_B [out, R] of the module, f32 row-major.
 * @param r R, the LoRA rank.
 * @param scaling s (α/r, or α/√r with rsLoRA).
 * @param out destination of w.length elements (default: a new array); may be `w` itself to merge in place (each
 *   element is read before it is written), which streaming callers use to avoid a fresh buffer per chunk.
 * @returns W' for those rows, f32 (each element rounded once from its f64 value): `out`.
 * @throws Error when w's length is not a whole number of rows, the rows run past out_features, or `out` is shorter
 *   than `w`.
 */
export function mergeLoraRows(w: Float32Array, row0: number, lora: LoraModuleWeights, r: number, scaling: number, out: Float32Array = new Float32Array(w.length)): Float32Array {
  const n = lora.inFeatures;
  const rows = w.length / n;
  if (!Number.isInteger(rows)) throw new Error(`mergeLoraRows: ${w.length} values is not a whole number of rows of ${n}`);
  if (row0 + rows > lora.outFeatures) throw new Error(`mergeLoraRows: rows ${row0}..${row0 + rows - 1} exceed out_features ${lora.outFeatures}`);
  if (out.length < w.length) throw new Error(`mergeLoraRows: out has ${out.length} elements, expected ${w.length}`);
  const { a, b } = lora;
  const acc = new Float64Array(n);
  for (let o = 0; o < rows; o++) {
    acc.fill(0);
    const bRow = (row0 + o) * r;
    let k = 0;
    // Four rank terms per pass over the row, added one after the other (the same f64 rounding as one term at a time).
    for (; k + 4 <= r; k += 4) {
      const b0 = b[bRow + k] as number;
      const b1 = b[bRow + k + 1] as number;
      const b2 = b[bRow + k + 2] as number;
      const b3 = b[bRow + k + 3] as number;
      const a0 = k * n;
      const a1 = a0 + n;
      const a2 = a1 + n;
      const a3 = a2 + n;
      for (let i = 0; i < n; i++) {
        acc[i] = (acc[i] as number) + b0 * (a[a0 + i] as number) + b1 * (a[a1 + i] as number) + b2 * (a[a2 + i] as number) + b3 * (a[a3 + i] as number);
      }
    }
    for (; k < r; k++) {
      const bk = b[bRow + k] as number;
      const aRow = k * n;
      for (let i = 0; i < n; i++) acc[i] = (acc[i] as number) + bk * (a[aRow + i] as number);
    }
    const wRow = o * n;
    for (let i = 0; i < n; i++) out[wRow + i] = (w[wRow + i] as number) + scaling * (acc[i] as number);
  }
  return out;
}

/**
 * Merges rows and encodes them in the stored dtype (F32 as is; BF16/F16 round-to-nearest-even from the f32 value).
 * Shapes and errors as {@link mergeLoraRows}; `inPlace` merges into `w` (overwriting it) instead of a new array.
 * @returns raw little-endian bytes of the merged rows (nRows · in · bytes per element), always a new buffer.
 */
export function mergeLoraRowsToBytes(w: Float32Array, row0: number, lora: LoraModuleWeights, r: number, scaling: number, dtype: WeightDType, inPlace = false): Uint8Array<ArrayBuffer> {
  return encodeF32Fast(mergeLoraRows(w, row0, lora, r, scaling, inPlace ? w : undefined), dtype);
}
