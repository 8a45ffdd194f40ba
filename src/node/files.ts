/**
 * Node adapters from folders on disk to the engine's {@link ModelFiles} (lazy, file-backed Blobs via fs.openAsBlob).
 */
import { openAsBlob } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { ModelFiles } from '../io/checkpoint';

/** Lists a folder recursively (relative paths with forward slashes). */
async function walk(root: string, dir = root, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(root, p, out);
    else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
  }
  return out;
}

/**
 * Opens a model folder on disk as ModelFiles (file-backed Blobs; nothing is read yet).
 * @throws Error when `dir` is not a directory.
 */
export async function modelFilesFromDir(dir: string, name = basename(dir)): Promise<ModelFiles> {
  if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
  const files = new Map<string, Blob>();
  for (const rel of await walk(dir)) files.set(rel, await openAsBlob(join(dir, rel)));
  return { name, files };
}
