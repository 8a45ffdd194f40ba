/**
 * Tensor dtypes as named in safetensors headers, and exact conversions between them.
 * BF16 → F32 is exact (16 bits into the top half); F32 → BF16 is round-to-nearest-even:
 * `bf16 = (u + 0x7FFF + ((u >> 16) & 1)) >> 16` (../shared/fixtures/README.md "Precision"; PyTorch's rounding).
 */

/** dtype strings of the safetensors format that the studio reads. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Floating dtypes that model weights may use (what the GPU engine accepts for frozen weights). */
export type WeightDType = 'F32' | 'F16' | 'BF16';

/** True for F32, F16 and BF16. */
export function isWeightDType(d: string): d is WeightDType {
  return d === 'F32' || d === 'F16' || d === 'BF16';
}

/** Exact BF16 → F32 upcast of one value given as its 16 bits. */
export function bf16BitsToF32(bits: number): number {
  const u = new Uint32Array([(bits & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0] as number;
}

/** Exact F16 → F32 (IEEE binary16, subnormals and inf/nan included). */
export function f16BitsToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Decodes little-endian raw tensor bytes to f32 (exact for F32/F16/BF16 and for integers below 2^24).
 * @param bytes raw tensor data (length = numel · DTYPE_BYTES[dtype]).
 * @throws Error for dtypes without an exact or meaningful f32 view (F64 values are rounded; BOOL/U8 widened).
 */
export function decodeToF32(bytes: Uint8Array, dtype: SafetensorsDType): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  if (!Number.isInteger(n)) throw new Error(`decodeToF32: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16BitsToF32(dv.getUint16(i * 2, true));
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      return out;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return out;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = dv.getUint8(i);
      return out;
  }
}

/** Round-to-nearest-even F32 → BF16 bits of one value (NaN kept as a quiet NaN). */
export function f32ToBf16Bits(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0] as number;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** F32 → F16 bits, round-to-nearest-even (IEEE binary16), with overflow to ±inf. */
export function f32ToF16Bits(x: number): number {
  return f32BitsToF16Bits(new Uint32Array(new Float32Array([x]).buffer)[0] as number);
}

/** binary32 bits → binary16 bits, round-to-nearest-even, overflow to ±inf, NaN kept quiet (bulk encoders call this). */
export function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) r++;
  if (r === 0x400) {
    r = 0;
    e++;
    if (e >= 31) return sign | 0x7c00;
  }
  return sign | (e << 10) | r;
}

/**
 * Encodes f32 values into raw little-endian bytes of `dtype` (F32 exact; BF16/F16 round-to-nearest-even).
 * @throws Error for non-float dtypes.
 */
export function encodeFromF32(values: Float32Array, dtype: WeightDType): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint16Array(values.length);
  const conv = dtype === 'BF16' ? f32ToBf16Bits : f32ToF16Bits;
  for (let i = 0; i < values.length; i++) out[i] = conv(values[i] as number);
  return new Uint8Array(out.buffer);
}
