/**
 * Independent Node references for the e2e checks (no app code imported): a minimal safetensors reader, BF16 ↔ f32,
 * σ per tensor in f64 (Shadow-FT §2.3: Σ|W_B − W_I| / (Σ|W_B| + Σ|W_I|)) with the paper's mean over
 * `model.layers.N.` tensors, and a LoRA merge W + s·B·A in f32 rounded to BF16 (round to nearest even).
 */
import { readFileSync } from 'node:fs';

/** One tensor of a safetensors file: dtype, shape and its raw little-endian bytes. */
export interface StTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** A parsed safetensors file. */
export interface StFile {
  readonly tensors: ReadonlyMap<string, StTensor>;
  readonly metadata: Record<string, string> | undefined;
}

/** Parses safetensors bytes (8-byte LE header length, JSON header, data). @throws Error on a malformed header. */
export function parseSafetensors(buf: Uint8Array): StFile {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> | undefined;
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [b, e] = t.data_offsets;
    tensors.set(name, { dtype: t.dtype, shape: t.shape, bytes: buf.slice(8 + n + b, 8 + n + e) });
  }
  return { tensors, metadata };
}

/** Reads and parses a safetensors file from disk. */
export function readSafetensorsFile(path: string): StFile {
  return parseSafetensors(new Uint8Array(readFileSync(path)));
}

/** BF16 → f64 values (exact: bf16 is the top half of an f32). */
export function decodeBf16(bytes: Uint8Array): Float64Array {
  const u16 = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  return Float64Array.from(u16, (h) => {
    u[0] = h << 16;
    return f[0] as number;
  });
}

/** F32 bytes → values. */
export function decodeF32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Values of a tensor as f64 (BF16 or F32 only). */
export function tensorValues(t: StTensor): Float64Array {
  if (t.dtype === 'BF16') return decodeBf16(t.bytes);
  if (t.dtype === 'F32') return Float64Array.from(decodeF32(t.bytes));
  throw new Error(`unsupported dtype ${t.dtype}`);
}

/** f32 value → BF16 bits, round to nearest even (NaN kept quiet). */
export function f32ToBf16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  if (Number.isNaN(f[0])) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** BF16 bits → value. */
export function bf16BitsToNumber(h: number): number {
  const u = new Uint32Array([h << 16]);
  return new Float32Array(u.buffer)[0] as number;
}

/** σ per tensor (f64 sums) for every tensor present in both files. */
export function sigmaPerTensor(base: StFile, instruct: StFile): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, tb] of base.tensors) {
    const ti = instruct.tensors.get(name);
    if (!ti) continue;
    const a = tensorValues(tb);
    const b = tensorValues(ti);
    let d = 0;
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < a.length; i++) {
      d += Math.abs((a[i] as number) - (b[i] as number));
      sa += Math.abs(a[i] as number);
      sb += Math.abs(b[i] as number);
    }
    out.set(name, sa + sb === 0 ? 0 : d / (sa + sb));
  }
  return out;
}

/** The paper's figure: unweighted mean σ over tensors named `model.layers.N.…`; also min and max over them. */
export function paperSummary(sigma: ReadonlyMap<string, number>): { mean: number; min: number; max: number; n: number } {
  const v = [...sigma].filter(([k]) => /^model\.layers\.\d+\./.test(k)).map(([, s]) => s);
  return { mean: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/**
 * W + s·B·A computed in f32 (products and sums rounded to f32 at each step, like the GPU/CPU merge) and rounded to
 * BF16 bits. W [out, in] f64 (exact BF16 values), A [r, in], B [out, r] f32.
 */
export function mergeToBf16(w: Float64Array, a: Float32Array, b: Float32Array, out: number, inF: number, r: number, s: number): Uint16Array {
  const res = new Uint16Array(out * inF);
  const f = Math.fround;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc = f(acc + f((b[o * r + k] as number) * (a[k * inF + i] as number)));
      res[o * inF + i] = f32ToBf16Bits(f((w[o * inF + i] as number) + f(s * acc)));
    }
  }
  return res;
}
