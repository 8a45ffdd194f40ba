/**
 * A content id of a model checkpoint, cheap enough to compute on every drop of a multi-GB model: SHA-256 over, for
 * each safetensors file in order, its name, its size, its first MiB and its last MiB. The first MiB holds the
 * safetensors header (every tensor's name, dtype, shape and offsets) and the first tensors' bytes, the last MiB the
 * last tensors' bytes. It tells apart models of other shapes, other files, other sizes, and retrained weights
 * (which change the first and last tensors); an edit confined to the middle of a file that keeps its size is not
 * seen — the price of not reading gigabytes.
 */
import type { Checkpoint } from './checkpoint';

const MIB = 1 << 20;

/**
 * Content id of `ckpt` (see the file comment).
 * @returns "sha256-ends:<hex>"
 */
export async function checkpointContentId(ckpt: Checkpoint): Promise<string> {
  const files = new Map<string, Blob>();
  for (const loc of ckpt.tensors.values()) files.set(loc.fileName, loc.file);
  const parts: BlobPart[] = [];
  for (const name of ckpt.fileNames) {
    const f = files.get(name);
    if (!f) continue;
    parts.push(`${name}\n${f.size}\n`);
    parts.push(await f.slice(0, Math.min(MIB, f.size)).arrayBuffer());
    parts.push(await f.slice(Math.max(0, f.size - MIB)).arrayBuffer());
  }
  const digest = await crypto.subtle.digest('SHA-256', await new Blob(parts).arrayBuffer());
  return `sha256-ends:${[...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}
