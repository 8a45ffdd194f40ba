/**
 * Sharding of a safetensors checkpoint the way Hugging Face saves it (huggingface_hub
 * `serialization/_base.py` split_state_dict_into_shards_factory; transformers `save_pretrained`):
 * tensors are taken in order and a new shard starts when adding the next tensor would push the current shard's
 * tensor bytes past `maxShardSize` (a tensor larger than the limit gets a shard of its own). One shard is written
 * as `model.safetensors`; several as `model-00001-of-0000N.safetensors` plus `model.safetensors.index.json`
 * `{"metadata": {"total_size": <Σ tensor bytes>}, "weight_map": {tensor: shard}}` (keys sorted, 2-space indent).
 */

/** HF's default max_shard_size: "5GB" = 5·10^9 bytes. */
export const DEFAULT_MAX_SHARD_SIZE = 5_000_000_000;

/** Anything with a name and a tensor byte length. */
export interface Sized {
  readonly name: string;
  readonly byteLength: number;
}

/** One planned shard: its file name and its tensors in order. */
export interface Shard<T extends Sized> {
  readonly fileName: string;
  readonly tensors: readonly T[];
}

/** `model-00002-of-00003.safetensors` (1-based index, 5 digits as in transformers). */
export function shardFileName(index: number, count: number): string {
  const p = (n: number): string => String(n).padStart(5, '0');
  return `model-${p(index + 1)}-of-${p(count)}.safetensors`;
}

/**
 * Splits tensors into shards of at most `maxShardSize` tensor bytes (order kept).
 * @throws Error when maxShardSize is not a positive number.
 */
export function planShards<T extends Sized>(tensors: readonly T[], maxShardSize = DEFAULT_MAX_SHARD_SIZE): Shard<T>[] {
  if (!(maxShardSize > 0)) throw new Error(`max shard size must be positive, got ${maxShardSize}`);
  const groups: T[][] = [];
  let cur: T[] = [];
  let size = 0;
  for (const t of tensors) {
    if (cur.length > 0 && size + t.byteLength > maxShardSize) {
      groups.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += t.byteLength;
  }
  if (cur.length > 0 || groups.length === 0) groups.push(cur);
  if (groups.length === 1) return [{ fileName: 'model.safetensors', tensors: groups[0] as T[] }];
  return groups.map((g, i) => ({ fileName: shardFileName(i, groups.length), tensors: g }));
}

/** The text of model.safetensors.index.json for a sharded plan (keys sorted, 2-space indent, trailing newline). */
export function shardIndexJson<T extends Sized>(shards: readonly Shard<T>[]): string {
  const map: [string, string][] = [];
  let total = 0;
  for (const s of shards) {
    for (const t of s.tensors) {
      map.push([t.name, s.fileName]);
      total += t.byteLength;
    }
  }
  map.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify({ metadata: { total_size: total }, weight_map: Object.fromEntries(map) }, null, 2) + '\n';
}

/**
 * Parses a size like HF's max_shard_size: a plain number of bytes, or a number with a unit
 * KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024); case-insensitive ("5GB", "500MiB", "2e9").
 * @throws Error for anything else or a non-positive size.
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(text);
  if (!m) throw new Error(`cannot read size "${text}" (expected e.g. 5GB, 500MB, 2GiB or a number of bytes)`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const pow = { b: 0, k: 1, m: 2, g: 3, t: 4 }[unit[0] as 'b' | 'k' | 'm' | 'g' | 't'];
  const base = unit.includes('i') ? 1024 : 1000;
  const bytes = Math.floor(Number(m[1]) * base ** pow);
  if (!(bytes > 0)) throw new Error(`size "${text}" must be positive`);
  return bytes;
}
