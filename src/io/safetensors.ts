/**
 * safetensors reading (lazy, with Blob.slice) and writing (header + parts, streamable).
 * Format: 8-byte little-endian u64 header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`, then the data
 * (offsets relative to the end of the header). Spec: huggingface/safetensors README.
 */
import { DTYPE_BYTES, type SafetensorsDType } from './dtype';
import { MAX_HEADER_BYTES, SafetensorsError, safetensorsOrder, validateHeaderText } from './safetensorsRules';

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

export { SafetensorsError, safetensorsOrder, MAX_HEADER_BYTES, type SafetensorsRule } from './safetensorsRules';

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Reads and validates the header of a safetensors Blob/File without reading tensor data, with every rule of the
 * reference reader (see safetensorsRules.ts): length prefix within the file and ≤ 100,000,000 bytes, UTF-8 JSON
 * object, unique names, `__metadata__` a map of strings, known dtypes, integer shapes/offsets, ranges sorted and
 * contiguous from 0, end − begin = numel × dtype size, last end = data section length.
 * @returns tensors in offset order (Map insertion order) and the metadata.
 * @throws SafetensorsError naming `fileName`, the tensor and the rule.
 */
export async function readSafetensorsHeader(blob: Blob, fileName: string): Promise<SafetensorsHeader> {
  if (blob.size < 8) throw new SafetensorsError(fileName, 'header-too-small', `file is ${blob.size} bytes, too short for a safetensors header (is this a safetensors file?)`);
  const n64 = new DataView(await blob.slice(0, 8).arrayBuffer()).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(fileName, 'header-too-large', `header length ${n64} is over the ${MAX_HEADER_BYTES}-byte limit (is this a safetensors file?)`);
  const n = Number(n64);
  if (n === 0 || 8 + n > blob.size) throw new SafetensorsError(fileName, 'header-length', `header length ${n} does not fit a ${blob.size}-byte file (is this a safetensors file?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await blob.slice(8, 8 + n).arrayBuffer());
  } catch {
    throw new SafetensorsError(fileName, 'header-utf8', 'header is not valid UTF-8');
  }
  const dataStart = 8 + n;
  const v = validateHeaderText(text, blob.size - dataStart, fileName);
  const tensors = new Map<string, TensorInfo>();
  for (const t of v.tensors) tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, begin: dataStart + t.begin, end: dataStart + t.end });
  return { fileName, tensors, metadata: v.metadata, dataStart };
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
 * Encodes the safetensors header exactly as the reference writer (huggingface/safetensors `prepare` in
 * `safetensors/src/tensor.rs`, used by `safetensors.torch.save_file`) does for the same tensors and metadata:
 * compact JSON `{"__metadata__":{..},"name":{"dtype":"F32","shape":[..],"data_offsets":[b,e]},..}` with the metadata
 * first (omitted when `metadata` is null), tensors in {@link safetensorsOrder} (dtype alignment descending, then
 * name) laid out contiguously from 0, then spaces up to a multiple of 8 bytes.
 * @param tensors must already be in safetensorsOrder (the caller writes the data in this order).
 * @returns the 8-byte little-endian length prefix + JSON header, to be followed by each tensor's bytes in order.
 * @throws SafetensorsError (rule "write") for a duplicate name, the name "__metadata__", tensors out of the
 *   reference order, or a byteLength that does not match dtype × shape.
 */
export function encodeSafetensorsHeader(tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>> | null = { format: 'pt' }, fileName = 'safetensors file'): Uint8Array {
  const seen = new Set<string>();
  const ordered = safetensorsOrder(tensors);
  const parts: string[] = [];
  if (metadata !== null) parts.push(`"__metadata__":{${Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  let off = 0;
  tensors.forEach((t, k) => {
    if (t.name === '__metadata__') throw new SafetensorsError(fileName, 'write', 'is reserved for the metadata and cannot name a tensor', t.name);
    if (seen.has(t.name)) throw new SafetensorsError(fileName, 'write', 'is given twice; tensor names must be unique', t.name);
    seen.add(t.name);
    if (ordered[k] !== t) throw new SafetensorsError(fileName, 'write', `is out of the reference order (expected ${JSON.stringify(ordered[k]?.name)} here); sort with safetensorsOrder`, t.name);
    const want = numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.byteLength !== want) throw new SafetensorsError(fileName, 'write', `${t.byteLength} bytes given, expected ${want} for ${t.dtype} ${JSON.stringify(t.shape)}`, t.name);
    parts.push(`${JSON.stringify(t.name)}:{"dtype":${JSON.stringify(t.dtype)},"shape":${JSON.stringify(t.shape)},"data_offsets":[${off},${off + t.byteLength}]}`);
    off += t.byteLength;
  });
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/**
 * Builds a whole safetensors file as a Blob from in-memory tensors (header + data parts; no copy of the data),
 * laid out in the reference writer's order whatever the order given.
 * For large exports, write the header and then stream each tensor instead (see graft/).
 * @throws SafetensorsError as {@link encodeSafetensorsHeader}.
 */
export function safetensorsBlob(tensors: ReadonlyArray<TensorToWrite & { data: Uint8Array }>, metadata?: Readonly<Record<string, string>> | null): Blob {
  const ordered = safetensorsOrder(tensors);
  const parts: BlobPart[] = [encodeSafetensorsHeader(ordered, metadata) as Uint8Array<ArrayBuffer>];
  for (const t of ordered) parts.push(t.data as Uint8Array<ArrayBuffer>);
  return new Blob(parts);
}
