/**
 * Builds a "tuned Base" from the demo Base for the graft tests (unit and e2e), with its own safetensors reading and
 * writing (no src/ code): a known perturbation of a few tensors, everything else byte for byte.
 * - `model.layers.0.self_attn.q_proj.weight`: every element's BF16 bits + k, k = (i mod 7) − 3 (so W_B′ − W_B is a
 *   few ulps, and some elements are unchanged);
 * - `model.layers.2.mlp.down_proj.weight`: RNE_bf16(W_B + 0.004·u), u pseudo-random in [-1, 1);
 * - `model.layers.4.input_layernorm.weight`: RNE_bf16(W_B · 1.01).
 * Plus BF16 helpers shared by the references (bits ↔ f64, f64 → BF16 round-to-nearest-even directly, without f32).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One tensor of a safetensors file. */
export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Parses a whole safetensors file (tensors in data-offset order). */
export function parseSt(buf: Uint8Array): Map<string, RawTensor> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  delete (header as Record<string, unknown>).__metadata__;
  const out = new Map<string, RawTensor>();
  for (const [k, v] of Object.entries(header).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
    out.set(k, { dtype: v.dtype, shape: v.shape, bytes: buf.slice(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]) });
  }
  return out;
}

/** Serialises tensors (in map order) as a safetensors file with metadata {"format": "pt"}. */
export function writeSt(tensors: ReadonlyMap<string, RawTensor>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [k, t] of tensors) {
    header[k] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.byteLength] };
    off += t.bytes.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.byteLength + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  let p = 8 + hb.byteLength;
  for (const t of tensors.values()) {
    out.set(t.bytes, p);
    p += t.bytes.byteLength;
  }
  return out;
}

/** BF16 bits → value. */
export function bf16ToNumber(bits: number): number {
  const f = new Float32Array(new Uint32Array([bits << 16]).buffer);
  return f[0] as number;
}

/** BF16 array of a tensor's bytes. */
export function bf16Bits(bytes: Uint8Array): Uint16Array {
  return new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * Rounds a finite f64 directly to the nearest BF16 (ties to even mantissa), by comparing the neighbours of the
 * truncated f32 bits in f64 (exact: BF16 values and their midpoints are f64-representable).
 */
export function f64ToBf16(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const u = new Uint32Array(new Float32Array([v]).buffer)[0] as number;
  const hi = u >>> 16;
  const cands = [hi - 1, hi, hi + 1].filter((c) => c >= 0 && ((c ^ hi) & 0x8000) === 0);
  let best = hi;
  let bestErr = Infinity;
  for (const c of cands) {
    const err = Math.abs(bf16ToNumber(c) - v);
    if (err < bestErr || (err === bestErr && (c & 1) === 0)) {
      best = c;
      bestErr = err;
    }
  }
  return best & 0xffff;
}

/** Deterministic u in [-1, 1) (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 31 - 1;
  };
}

/** The perturbed tensors of {@link writeTunedBase}. */
export const PERTURBED = ['model.layers.0.self_attn.q_proj.weight', 'model.layers.2.mlp.down_proj.weight', 'model.layers.4.input_layernorm.weight'] as const;

/** The perturbation applied to one BF16 tensor (see the file comment). */
function perturb(name: string, bits: Uint16Array): Uint16Array {
  const out = new Uint16Array(bits.length);
  const u = rng(12345);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i] as number;
    if (name === PERTURBED[0]) out[i] = (b + ((i % 7) - 3)) & 0xffff;
    else if (name === PERTURBED[1]) out[i] = f64ToBf16(bf16ToNumber(b) + 0.004 * u());
    else out[i] = f64ToBf16(bf16ToNumber(b) * 1.01);
  }
  return out;
}

/** Options: change the tensors further to build bad inputs. */
export interface TunedOptions {
  /** Called with the tensors after the perturbation; may add, drop or replace entries. */
  edit?(tensors: Map<string, RawTensor>): void;
  /** Called with the parsed config.json before it is written. */
  editConfig?(cfg: Record<string, unknown>): void;
}

/**
 * Writes `outDir` = the Base folder with {@link PERTURBED} changed (single model.safetensors, BF16), the Base's
 * config and tokenizer files copied. @returns the tensors written.
 */
export function writeTunedBase(baseDir: string, outDir: string, opts: TunedOptions = {}): Map<string, RawTensor> {
  const tensors = parseSt(new Uint8Array(readFileSync(join(baseDir, 'model.safetensors'))));
  for (const name of PERTURBED) {
    const t = tensors.get(name) as RawTensor;
    t.bytes = new Uint8Array(perturb(name, bf16Bits(t.bytes)).buffer);
  }
  opts.edit?.(tensors);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.safetensors'), writeSt(tensors));
  for (const f of readdirSync(baseDir)) {
    if (f === 'model.safetensors') continue;
    if (f === 'config.json') {
      const cfg = JSON.parse(readFileSync(join(baseDir, f), 'utf8')) as Record<string, unknown>;
      opts.editConfig?.(cfg);
      writeFileSync(join(outDir, f), JSON.stringify(cfg, null, 2));
    } else copyFileSync(join(baseDir, f), join(outDir, f));
  }
  return tensors;
}
