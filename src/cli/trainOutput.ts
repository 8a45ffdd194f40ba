/**
 * The output folder of `shadowft train`: `checkpoints/` (the latest training checkpoint, engine/train/checkpointFile.ts,
 * written as a `.partial` file renamed when complete; older ones are removed only after the new one is in place, so
 * a crash or a full disk never leaves the folder without a complete checkpoint), `run.log` (one line per event with
 * an ISO timestamp, appended) and `adapter/` (the PEFT adapter, written atomically at the end).
 */
import { appendFile, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openAsBlob } from 'node:fs';
import type { TrainCheckpoint } from '../engine/train/checkpoint';
import { decodeCheckpoint, encodeCheckpoint } from '../engine/train/checkpointFile';
import { listOrNull } from './atomicDir';

const CKPT_RE = /^step-(\d+)-of-(\d+)\.safetensors$/;

/** File name of the checkpoint after `step` of `total` steps (zero-padded so names sort by step). */
export function checkpointFileName(step: number, total: number): string {
  return `step-${String(step).padStart(7, '0')}-of-${total}.safetensors`;
}

/**
 * Writes `c` as DIR/checkpoints/step-…-of-….safetensors (via `.partial` + rename), then removes older checkpoints.
 * @throws the fs error (e.g. ENOSPC) after removing the partial file; the previous checkpoint is kept.
 */
export async function saveCheckpoint(outDir: string, c: TrainCheckpoint): Promise<string> {
  const dir = join(outDir, 'checkpoints');
  await mkdir(dir, { recursive: true });
  const name = checkpointFileName(c.step, c.totalSteps);
  const path = join(dir, name);
  const tmp = `${path}.partial`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.write(new Uint8Array(await encodeCheckpoint(c).arrayBuffer()));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  for (const f of await readdir(dir)) if (f !== name && (CKPT_RE.test(f) || f.endsWith('.partial'))) await rm(join(dir, f), { force: true });
  return path;
}

/**
 * The latest checkpoint of an output folder (highest step in DIR/checkpoints/), decoded and validated.
 * @throws Error naming the folder when it holds no checkpoint; CheckpointFileError / SafetensorsError for a bad file.
 */
export async function loadLatestCheckpoint(dir: string): Promise<{ path: string; checkpoint: TrainCheckpoint }> {
  const cdir = join(dir, 'checkpoints');
  const names = ((await listOrNull(cdir)) ?? []).filter((f) => CKPT_RE.test(f)).sort();
  const name = names.at(-1);
  if (!name) throw new Error(`--resume ${dir}: no checkpoint in ${cdir} (expected step-NNNNNNN-of-N.safetensors written by shadowft train)`);
  const path = join(cdir, name);
  return { path, checkpoint: await decodeCheckpoint(await openAsBlob(path), path) };
}

/** Appends timestamped lines to DIR/run.log (one write per call, in order). */
export function runLog(outDir: string): { line(text: string): Promise<void> } {
  let chain: Promise<void> = mkdir(outDir, { recursive: true }).then(() => undefined);
  return {
    line(text) {
      const stamp = new Date().toISOString();
      const body = text.split('\n').map((l) => `${stamp} ${l}\n`).join('');
      chain = chain.then(() => appendFile(join(outDir, 'run.log'), body));
      return chain;
    },
  };
}
