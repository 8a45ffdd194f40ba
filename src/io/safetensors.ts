/**
 * safetensors reading (lazy, with Blob.slice) and writing (header + parts, streamable).
 * Format: 8-byte little-endian u64 header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`, then the data
 * (offsets relative to the end of the header). Spec: huggingface/safetensors README.
 */
import { DTYPE_BYTES, type SafetensorsDType } from './dtype';

/** One tensor's entry in a safetensors file; offsets are absolute byte positions in the file. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Absolute byte offset of the first data byte in the file. */
  readonly begin: number;
  /** Absolute byte offset one past the last data byte. */
  readonly end: number;
}

/** Parsed header of one safetensors file. */
export interface SafetensorsHeader {
  readonly fileName: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Bytes of the 8-byte prefix plus the JSON header. */
  readonly dataStart: number;
}

/** Thrown for malformed files; the message names the file (and the tensor when there is one). */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const MAX_HEADER = 100 * 1024 * 1024;

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Reads and validates the header of a safetensors Blob/File without reading tensor data.
 * @throws SafetensorsError naming `fileName` when the header is truncated, not JSON, has unknown dtypes,
 *   or a tensor's byte range does not match dtype × shape or lies outside the file.
 */
export async function readSafetensorsHeader(blob: Blob, fileName: string): Promise<SafetensorsHeader> {
  if (blob.size < 8) throw new SafetensorsError(`${fileName}: file is ${blob.size} bytes, too short for a safetensors header`);
  const lenBytes = new DataView(await blob.slice(0, 8).arrayBuffer());
  const n = Number(lenBytes.getBigUint64(0, true));
  if (n <= 0 || n > MAX_HEADER || 8 + n > blob.size) throw new SafetensorsError(`${fileName}: header length ${n} is invalid for a ${blob.size}-byte file (is this a safetensors file?)`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(await blob.slice(8, 8 + n).arrayBuffer())) as Record<string, unknown>;
  } catch (e) {
    throw new SafetensorsError(`${fileName}: header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!e || typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw new SafetensorsError(`${fileName}: tensor ${name} has unsupported dtype ${String(e?.dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`);
    if (!Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) throw new SafetensorsError(`${fileName}: tensor ${name} lacks shape or data_offsets`);
    const dtype = e.dtype as SafetensorsDType;
    const [b, en] = e.data_offsets;
    const want = numel(e.shape) * DTYPE_BYTES[dtype];
    if (en - b !== want) throw new SafetensorsError(`${fileName}: tensor ${name} has ${en - b} bytes, expected ${want} for ${dtype} ${JSON.stringify(e.shape)}`);
    if (dataStart + en > blob.size) throw new SafetensorsError(`${fileName}: tensor ${name} ends at byte ${dataStart + en}, past the end of the ${blob.size}-byte file (truncated download?)`);
    tensors.set(name, { name, dtype, shape: e.shape, begin: dataStart + b, end: dataStart + en });
  }
  return { fileName, tensors, metadata, dataStart };
}

/** Reads one tensor's raw bytes (little-endian, file dtype) with Blob.slice. */
export async function readTensorBytes(blob: Blob, info: TensorInfo): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(info.begin, info.end).arrayBuffer());
}

/** A tensor to write: name, dtype, shape and its raw little-endian bytes (or a lazy Blob of them). */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/**
 * Encodes the safetensors header for `tensors` in the given order (data laid out contiguously in that order).
 * The JSON is space-padded to a multiple of 8 bytes as the reference writer does.
 * @returns the 8-byte length prefix + JSON header, ready to be followed by each tensor's bytes in order.
 * @throws SafetensorsError when a tensor's byteLength does not match dtype × shape.
 */
export function encodeSafetensorsHeader(tensors: readonly TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const t of tensors) {
    const want = numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.byteLength !== want) throw new SafetensorsError(`writing ${t.name}: ${t.byteLength} bytes given, expected ${want} for ${t.dtype} ${JSON.stringify(t.shape)}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.byteLength] };
    off += t.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

/**
 * Builds a whole safetensors file as a Blob from in-memory tensors (header + data parts; no copy of the data).
 * For large exports, write the header and then stream each tensor instead (see graft/).
 */
export function safetensorsBlob(tensors: ReadonlyArray<TensorToWrite & { data: Uint8Array }>, metadata?: Record<string, string>): Blob {
  const parts: BlobPart[] = [encodeSafetensorsHeader(tensors, metadata) as Uint8Array<ArrayBuffer>];
  for (const t of tensors) parts.push(t.data as Uint8Array<ArrayBuffer>);
  return new Blob(parts);
}
