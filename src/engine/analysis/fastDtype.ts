/**
 * Bulk dtype conversions on typed-array views, for the streaming σ pass and the merge, where the per-element
 * helpers of src/io/dtype.ts (DataView reads, one small typed array per value) are 10–100× too slow for
 * multi-GB checkpoints. Same results bit for bit (tests/unit/merge.test.ts compares them on edge cases and random
 * bits): BF16 → F32 puts the 16 bits in the top half; F32 → BF16 is `(u + 0x7FFF + ((u >> 16) & 1)) >> 16` with NaN
 * kept quiet; F32 → F16 is IEEE round-to-nearest-even with subnormals and overflow to ±inf. (One difference: an
 * F16 NaN decodes with its payload kept, where decodeToF32 returns the canonical NaN; both are NaN.)
 * Little-endian hosts use views directly; a big-endian host falls back to src/io/dtype.ts.
 */
import { decodeToF32, encodeFromF32, f32BitsToF16Bits, type SafetensorsDType, type WeightDType } from '../../io/dtype';

/** True on little-endian hosts (every browser/Node platform in practice). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies bytes to a fresh aligned buffer when the view is not aligned to `align`. */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

/**
 * Decodes raw little-endian tensor bytes to f32 (exact for F32/BF16/F16), like decodeToF32 but fast.
 * @param out optional destination for BF16/F16 (at least numel elements), reused by streaming readers so that no
 *   fresh 2×-sized buffer is allocated per chunk (allocation and page faults cost more than the decode itself).
 * @returns for F32 a view on (an aligned copy of) `bytes`; for BF16/F16 a view of the first numel elements of `out`
 *   when given, else a new array; other dtypes a new array (decodeToF32).
 * @throws Error as decodeToF32 for a byte length that is not a whole number of elements.
 */
export function decodeF32Fast(bytes: Uint8Array, dtype: SafetensorsDType, out?: Float32Array): Float32Array {
  if (!LITTLE_ENDIAN || (dtype !== 'F32' && dtype !== 'BF16' && dtype !== 'F16')) return decodeToF32(bytes, dtype);
  const size = dtype === 'F32' ? 4 : 2;
  if (bytes.byteLength % size !== 0) return decodeToF32(bytes, dtype);
  const b = aligned(bytes, size);
  const n = b.byteLength / size;
  if (dtype === 'F32') return new Float32Array(b.buffer, b.byteOffset, n);
  const h = new Uint16Array(b.buffer, b.byteOffset, n);
  const dst = out && out.length >= n ? out.subarray(0, n) : new Float32Array(n);
  return dtype === 'BF16' ? bf16ToF32Into(h, dst) : f16ToF32Into(h, dst);
}

/** BF16 bits → f32 into `out` (same length): the 16 bits go to the top half. */
function bf16ToF32Into(h: Uint16Array, out: Float32Array): Float32Array {
  const u = new Int32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < h.length; i++) u[i] = (h[i] as number) << 16;
  return out;
}

/** F16 bits → f32 into `out` (same length). */
function f16ToF32Into(h: Uint16Array, out: Float32Array): Float32Array {
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < h.length; i++) u[i] = f16ToF32Bits(h[i] as number);
  return out;
}

/** IEEE binary16 bits → binary32 bits (exact, subnormals normalised, inf/NaN kept). */
function f16ToF32Bits(h: number): number {
  const s = (h & 0x8000) << 16;
  let e = (h >>> 10) & 0x1f;
  let m = h & 0x3ff;
  if (e === 0x1f) return (s | 0x7f800000 | (m << 13)) >>> 0;
  if (e === 0) {
    if (m === 0) return s >>> 0;
    e = 1;
    while ((m & 0x400) === 0) {
      m <<= 1;
      e--;
    }
    m &= 0x3ff;
  }
  return (s | ((e + 112) << 23) | (m << 13)) >>> 0;
}


/**
 * Encodes f32 values as raw little-endian bytes of `dtype` (F32 as is; BF16/F16 round-to-nearest-even), like
 * encodeFromF32 but fast. @returns bytes in a new buffer.
 */
export function encodeF32Fast(values: Float32Array, dtype: WeightDType): Uint8Array<ArrayBuffer> {
  if (!LITTLE_ENDIAN) return encodeFromF32(values, dtype) as Uint8Array<ArrayBuffer>;
  if (dtype === 'F32') return new Uint8Array(values.slice().buffer);
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  if (dtype === 'BF16') {
    for (let i = 0; i < u.length; i++) {
      const x = u[i] as number;
      out[i] = (x & 0x7fffffff) > 0x7f800000 ? ((x >>> 16) | 0x40) & 0xffff : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
    }
  } else {
    for (let i = 0; i < u.length; i++) out[i] = f32BitsToF16Bits(u[i] as number);
  }
  return new Uint8Array(out.buffer);
}
