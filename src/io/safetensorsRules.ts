/**
 * The validation rules of the reference safetensors reader (huggingface/safetensors `safetensors/src/tensor.rs`:
 * `SafeTensors::read_metadata` and `Metadata::validate`), applied to a parsed header:
 * - the u64 header length N fits in the file (8 + N ≤ size) and N ≤ 100,000,000 (`MAX_HEADER_SIZE`);
 * - the header is UTF-8 JSON of an object; `__metadata__` is absent, null, or a map of string → string;
 * - every other key is a tensor `{dtype, shape: [usize…], data_offsets: [usize, usize]}` (non-negative integers);
 * - tensor names are unique (the reference's HashMap would keep only one of two entries: we refuse instead);
 * - sorted by data_offsets, the ranges start at 0 and are contiguous (begin = previous end, end ≥ begin),
 *   so they neither overlap nor leave gaps; end − begin = numel(shape) × dtype size;
 * - the last end is exactly the data section's length (no trailing bytes, not truncated).
 * Each failure is a {@link SafetensorsError} naming the file, the tensor (when there is one) and the rule.
 */
import { DTYPE_BYTES, type SafetensorsDType } from './dtype';

/** The rule a malformed safetensors file breaks (names follow the reference's `SafeTensorError` variants). */
export type SafetensorsRule =
  | 'header-too-small' // file shorter than the 8-byte length prefix (HeaderTooSmall)
  | 'header-too-large' // N > 100,000,000 (HeaderTooLarge)
  | 'header-length' // 8 + N past the end of the file, or N = 0 (InvalidHeaderLength)
  | 'header-utf8' // header bytes are not UTF-8 (InvalidHeader)
  | 'header-json' // not JSON, or not a JSON object (InvalidHeaderDeserialization)
  | 'duplicate-name' // a tensor name (or an entry's field) appears twice
  | 'metadata' // __metadata__ is not a map of strings
  | 'tensor-entry' // an entry lacks dtype/shape/data_offsets or they have the wrong JSON type
  | 'dtype' // dtype not one the studio reads
  | 'shape' // a dimension that is not a non-negative integer
  | 'offsets' // data_offsets not two non-negative integers
  | 'invalid-offset' // ranges not sorted/contiguous from 0: a gap, an overlap, or end < begin (InvalidOffset)
  | 'size-mismatch' // end − begin ≠ numel × dtype size (TensorInvalidInfo)
  | 'overflow' // numel × dtype size beyond 2^53 (ValidationOverflow)
  | 'incomplete-buffer' // last end ≠ data section length: trailing bytes or truncation (MetadataIncompleteBuffer)
  | 'write'; // the writer was given inconsistent tensors (duplicate names, wrong byte lengths)

/** Thrown for malformed files (and refused writes); `file`, `tensor` and `rule` are also in the message. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly file: string,
    readonly rule: SafetensorsRule,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor !== undefined ? `tensor ${JSON.stringify(tensor)} ` : ''}${detail} [safetensors rule: ${rule}]`);
  }
}

/** The reference reader's header limit (`MAX_HEADER_SIZE = 100_000_000` bytes). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One validated tensor entry; offsets relative to the start of the data section. */
export interface RawTensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A validated header: tensors sorted by offset, and the metadata map. */
export interface ValidatedHeader {
  readonly tensors: readonly RawTensorEntry[];
  readonly metadata: Readonly<Record<string, string>>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUsize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Finds a key that appears twice in one JSON object of `text` (JSON.parse silently keeps the last).
 * `text` must already be valid JSON. @returns [depth, key] of the first duplicate (depth 1 = top level), or null.
 */
export function findDuplicateKey(text: string): [number, string] | null {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k] as string)) k++;
      if (top && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return [stack.length, key];
        top.add(key);
      }
      i = j + 1;
      continue;
    }
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    i++;
  }
  return null;
}

/**
 * Parses and validates the JSON header text of a file whose data section has `dataBytes` bytes.
 * @throws SafetensorsError (rules header-json … incomplete-buffer) naming `file` and the tensor.
 */
export function validateHeaderText(text: string, dataBytes: number, file: string): ValidatedHeader {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, 'header-json', `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) throw new SafetensorsError(file, 'header-json', 'header is not a JSON object');
  const dup = findDuplicateKey(text);
  if (dup) {
    const [depth, key] = dup;
    throw depth === 1
      ? new SafetensorsError(file, 'duplicate-name', 'appears twice in the header; tensor names must be unique', key)
      : new SafetensorsError(file, 'duplicate-name', `a header entry has the field ${JSON.stringify(key)} twice`);
  }
  let metadata: Record<string, string> = {};
  const tensors: RawTensorEntry[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (v === null) continue;
      if (!isObject(v)) throw new SafetensorsError(file, 'metadata', `__metadata__ must be a map of strings, got ${JSON.stringify(v)}`);
      const bad = Object.entries(v).find(([, s]) => typeof s !== 'string');
      if (bad) throw new SafetensorsError(file, 'metadata', `__metadata__ value of ${JSON.stringify(bad[0])} is ${JSON.stringify(bad[1])}, not a string`);
      metadata = v as Record<string, string>;
      continue;
    }
    if (!isObject(v) || typeof v.dtype !== 'string' || !Array.isArray(v.shape) || !Array.isArray(v.data_offsets)) {
      throw new SafetensorsError(file, 'tensor-entry', 'needs {"dtype": string, "shape": [..], "data_offsets": [begin, end]}', name);
    }
    if (!(v.dtype in DTYPE_BYTES)) throw new SafetensorsError(file, 'dtype', `has unsupported dtype ${v.dtype} (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`, name);
    if (!v.shape.every(isUsize)) throw new SafetensorsError(file, 'shape', `has shape ${JSON.stringify(v.shape)}; dimensions must be non-negative integers`, name);
    const off = v.data_offsets;
    if (off.length !== 2 || !off.every(isUsize)) throw new SafetensorsError(file, 'offsets', `has data_offsets ${JSON.stringify(off)}; expected two non-negative integers [begin, end]`, name);
    tensors.push({ name, dtype: v.dtype as SafetensorsDType, shape: v.shape as number[], begin: off[0] as number, end: off[1] as number });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let start = 0;
  for (const t of tensors) {
    if (t.begin !== start || t.end < t.begin) {
      const what = t.end < t.begin ? `ends (${t.end}) before it begins (${t.begin})` : t.begin < start ? `begins at ${t.begin}, overlapping the previous tensor that ends at ${start}` : `begins at ${t.begin}, leaving a gap after byte ${start}`;
      throw new SafetensorsError(file, 'invalid-offset', `${what}; data ranges must be contiguous from 0`, t.name);
    }
    start = t.end;
    const want = t.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype];
    if (!Number.isSafeInteger(want)) throw new SafetensorsError(file, 'overflow', `shape ${JSON.stringify(t.shape)} is too large`, t.name);
    if (t.end - t.begin !== want) throw new SafetensorsError(file, 'size-mismatch', `has ${t.end - t.begin} bytes, expected ${want} for ${t.dtype} ${JSON.stringify(t.shape)}`, t.name);
  }
  if (start !== dataBytes) {
    const why = start < dataBytes ? `${dataBytes - start} trailing bytes after the last tensor` : `the tensors need ${start} bytes but the file holds ${dataBytes} (truncated download?)`;
    throw new SafetensorsError(file, 'incomplete-buffer', `data section is ${dataBytes} bytes: ${why}`);
  }
  return { tensors, metadata };
}

/** Reference writer order: dtypes by descending alignment (the reference's `Dtype` enum order), then name. */
const DTYPE_RANK: Readonly<Record<SafetensorsDType, number>> = { BOOL: 0, U8: 1, I8: 2, I16: 5, F16: 7, BF16: 8, I32: 9, F32: 11, F64: 12, I64: 13 };

/** Byte-wise UTF-8 comparison (Rust's `str::cmp`). */
function utf8Compare(a: string, b: string): number {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

/**
 * The order in which the reference writer (`safetensors.torch.save_file` → Rust `prepare`) lays out tensors:
 * descending dtype alignment (F64/I64 first, BOOL last), then name (byte-wise). Returns a sorted copy.
 */
export function safetensorsOrder<T extends { readonly name: string; readonly dtype: SafetensorsDType }>(tensors: readonly T[]): T[] {
  return [...tensors].sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || utf8Compare(a.name, b.name));
}
