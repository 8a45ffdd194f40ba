/**
 * The identity of a model folder and of a Base/Instruct pair: what decides whether a cached result (σ, held-out
 * losses of the untrained models, a checkpoint of a run) still belongs to the files now dropped.
 *
 * A model's identity is a SHA-256 (hex) over, in path order:
 * - every file of the folder: relative path, byte size and `lastModified` (ms since the epoch; 0 for a Blob that is
 *   not a File, e.g. in Node tests);
 * - the SHA-256 of config.json's bytes;
 * - the SHA-256 of each safetensors file's header (the 8-byte length prefix and the JSON header: dtypes, shapes,
 *   offsets and `__metadata__`) and of {@link SAMPLE_BLOCKS} blocks of {@link SAMPLE_BYTES} bytes of its tensor data,
 *   evenly spaced from the first to the last byte (a Base and its Instruct have identical headers, configs and sizes;
 *   the sampled data tells them apart, as it does any fine-tune, which changes every weight).
 * Re-dropping changed weights under the same names therefore changes the identity whenever a file's size, time,
 * config, header or sampled data changes. It does not read all tensor data (multi-GB): a same-size rewrite that
 * keeps the header, the file time and the sampled blocks is not noticed. The folder name is deliberately not part
 * of the identity (renaming a folder keeps its caches).
 * Where `crypto.subtle` is missing (an insecure http:// page) the digests are 64-bit FNV-1a instead, prefixed
 * "fnv1a64:" so the two kinds never compare equal.
 */
import type { ModelFiles } from './checkpoint';

/** Length of the safetensors length prefix (u64 little-endian). */
const PREFIX = 8;
/** Blocks of tensor data sampled per safetensors file, and their size in bytes (at most 64 KiB read per file). */
export const SAMPLE_BLOCKS = 16;
export const SAMPLE_BYTES = 4096;

/** Hex digest of bytes: SHA-256 (Web Crypto) or, without crypto.subtle, "fnv1a64:" + 64-bit FNV-1a. */
export async function digestHex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle as SubtleCrypto | undefined;
  if (subtle) {
    const d = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return `fnv1a64:${h.toString(16).padStart(16, '0')}`;
}

/**
 * The digest of a safetensors Blob's header bytes (prefix + JSON; the whole Blob when the prefix is unreadable) and
 * the digest of the sampled data blocks, as "header data".
 */
async function safetensorsDigest(blob: Blob): Promise<string> {
  if (blob.size < PREFIX) return digestHex(new Uint8Array(await blob.arrayBuffer()));
  const n = new DataView(await blob.slice(0, PREFIX).arrayBuffer()).getBigUint64(0, true);
  const start = n > BigInt(blob.size - PREFIX) ? blob.size : PREFIX + Number(n);
  const header = await digestHex(new Uint8Array(await blob.slice(0, start).arrayBuffer()));
  const span = blob.size - start;
  const parts: Blob[] = [];
  if (span <= SAMPLE_BLOCKS * SAMPLE_BYTES) parts.push(blob.slice(start));
  else {
    for (let k = 0; k < SAMPLE_BLOCKS; k++) {
      const at = start + Math.floor(((span - SAMPLE_BYTES) * k) / (SAMPLE_BLOCKS - 1));
      parts.push(blob.slice(at, at + SAMPLE_BYTES));
    }
  }
  const data = await digestHex(new Uint8Array(await new Blob(parts).arrayBuffer()));
  return `${header} ${data}`;
}

/**
 * The identity of one model folder (see the file comment), a 64-hex-digit SHA-256 (or "fnv1a64:…").
 * Reads config.json, the safetensors headers and at most SAMPLE_BLOCKS × SAMPLE_BYTES data bytes per file.
 */
export async function modelIdentity(model: ModelFiles): Promise<string> {
  const parts: string[] = [];
  const paths = [...model.files.keys()].sort();
  for (const path of paths) {
    const f = model.files.get(path) as Blob;
    const time = f instanceof File ? f.lastModified : 0;
    parts.push(`file ${JSON.stringify(path)} ${f.size} ${time}`);
    if (path === 'config.json') parts.push(`config ${await digestHex(new Uint8Array(await f.arrayBuffer()))}`);
    if (path.endsWith('.safetensors')) parts.push(`safetensors ${JSON.stringify(path)} ${await safetensorsDigest(f)}`);
  }
  return digestHex(new TextEncoder().encode(parts.join('\n')));
}

/** The identity of a Base/Instruct pair: "base identity|instruct identity" (order matters: roles differ). */
export function pairIdentity(baseId: string, instructId: string): string {
  return `${baseId}|${instructId}`;
}

/** The pair identity with the roles ignored (σ is symmetric in Base and Instruct, so a Swap keeps it). */
export function unorderedPairIdentity(baseId: string, instructId: string): string {
  return [baseId, instructId].sort().join('|');
}
