/**
 * Writing an output folder so that no partial folder ever looks complete: every file goes into a hidden sibling
 * `.NAME.partial-PID`, which is renamed to NAME only after the last file is complete; on any failure (disk full,
 * a source file that changed, an abort) the temporary folder is removed and NAME is left as it was.
 */
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { OutputFile } from '../engine/graft/mergedModel';
import { writeOutputFile } from './merge';

/**
 * The entries of `dir`, or null when it does not exist.
 * @throws the fs error for anything but ENOENT.
 */
export async function listOrNull(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Writes `files` (relative names, sub-folders allowed) as the folder `outDir`, atomically as described above.
 * @throws Error when `outDir` exists and is not empty (nothing is written), or whatever writing threw (after the
 *   temporary folder was removed).
 */
export async function writeFolderAtomically(outDir: string, files: readonly OutputFile[]): Promise<void> {
  const existing = await listOrNull(outDir);
  if (existing && existing.length > 0) throw new Error(`${outDir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); choose a new output folder`);
  const tmp = join(dirname(outDir), `.${basename(outDir)}.partial-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    for (const f of files) {
      await mkdir(dirname(join(tmp, f.name)), { recursive: true });
      await writeOutputFile(tmp, f);
    }
    if (existing) await rmdir(outDir);
    await rename(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** A text file as an {@link OutputFile}. */
export function textOutputFile(name: string, text: string): OutputFile {
  const bytes = new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
  return { name, size: bytes.byteLength, parts: async function* () { yield bytes; } };
}
