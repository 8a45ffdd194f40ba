/**
 * Browser storage of the unfinished run's checkpoint, in the engine worker: the checkpoint file
 * (engine/train/checkpointFile.ts, one safetensors file) in the Origin Private File System
 * (navigator.storage.getDirectory(), folder "shadowft-checkpoints"), and a small index in IndexedDB (idb-keyval,
 * database "shadowft-checkpoints") naming the file, the step and the models it needs. A new checkpoint is written to
 * a new file; the index is switched to it only once it is complete, and the previous file is removed after that, so
 * a failed save (quota, a closed tab) never loses the checkpoint saved before.
 * Each kind of durable job has its own slot (index key and file prefix): {@link RUN_SLOT} for the Train panel's run,
 * {@link COMPARE_SLOT} for the training stage of a comparison (app/durableCompare.ts), so one never replaces the other.
 */
import { createStore, del as idbDel, get as idbGet, set as idbSet, type UseStore } from 'idb-keyval';
import type { TrainCheckpoint } from '../engine/train/checkpoint';
import { decodeCheckpoint, encodeCheckpoint } from '../engine/train/checkpointFile';
import type { TrainSettings } from '../engine/train/types';

/** What the studio shows about an unfinished run (structured-cloneable). */
export interface ResumableRun {
  /** OPFS file of the latest checkpoint */
  readonly file: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly savedAt: string;
  readonly settings: TrainSettings;
  /** dropped folder names of the pair the run trains on */
  readonly baseModel: string;
  readonly instructModel: string;
  /** paths of the dataset files the run used (ticked), so Resume can tick the same ones */
  readonly datasets: readonly string[];
  /** content id of the Base (io/contentId.ts), checked again on resume */
  readonly modelId: string;
  readonly bytes: number;
  /** id and start time (ISO) of the run-history record the run belongs to (src/store/runHistory.ts); null when unknown */
  readonly runId: string | null;
  readonly startedAt: string | null;
}

/** Thrown when the browser cannot store a checkpoint; the message names the cause and the numbers. */
export class CheckpointStorageError extends Error {
  override name = 'CheckpointStorageError';
}

const DIR = 'shadowft-checkpoints';
/** The slot of the Train panel's unfinished run. */
export const RUN_SLOT = 'unfinished';
/** The slot of a comparison's training stage under way. */
export const COMPARE_SLOT = 'compare';
let db: UseStore | null = null;
/** The IndexedDB store of the checkpoint index (shared with app/durableCompare.ts for the comparison's own state). */
export const checkpointIndexStore = (): UseStore => (db ??= createStore('shadowft-checkpoints', 'index'));
const store = checkpointIndexStore;

/** True when this runtime has OPFS and IndexedDB (a browser worker or page; not Node). */
export function checkpointStorageAvailable(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function' && typeof indexedDB !== 'undefined';
}

/** The OPFS folder of the checkpoint files. */
export async function dir(): Promise<FileSystemDirectoryHandle> {
  return (await navigator.storage.getDirectory()).getDirectoryHandle(DIR, { create: true });
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * Checks that two checkpoints of `bytes` fit the origin's free quota (a new one is written before the old one is
 * removed).
 * @throws CheckpointStorageError with the numbers when they do not fit.
 */
export async function requireCheckpointSpace(bytes: number): Promise<void> {
  const est = await navigator.storage.estimate();
  if (est.quota === undefined || est.usage === undefined) return;
  const free = est.quota - est.usage;
  if (free < 2 * bytes) throw new CheckpointStorageError(`checkpoints of this run need ${mib(2 * bytes)} of browser storage (two copies of ${mib(bytes)} while one replaces the other) but only ${mib(free)} of the ${mib(est.quota)} quota is free; free space in the browser (site data) or lower the rank`);
}

/**
 * Saves `c` as the unfinished run's checkpoint (see the file comment).
 * @throws CheckpointStorageError naming the cause (e.g. QuotaExceededError) when the file or the index cannot be
 *   written; the previous checkpoint stays the current one.
 */
export async function saveRunCheckpoint(c: TrainCheckpoint, pair: { baseModel: string; instructModel: string; datasets: readonly string[]; runId?: string | undefined; startedAt?: string | undefined }, slot = RUN_SLOT): Promise<ResumableRun> {
  const name = `${slot === RUN_SLOT ? 'run' : slot}-step-${c.step}-${Date.now()}.safetensors`;
  const blob = encodeCheckpoint(c);
  const d = await dir();
  try {
    const fh = await d.getFileHandle(name, { create: true });
    const w = await fh.createWritable();
    try {
      await w.write(blob);
      await w.close();
    } catch (e) {
      await w.abort().catch(() => {});
      throw e;
    }
  } catch (e) {
    await d.removeEntry(name).catch(() => {});
    const err = e as Error;
    throw new CheckpointStorageError(`could not write the checkpoint to the browser's file storage (${err.name}: ${err.message})`, { cause: e });
  }
  const prev = await idbGet<ResumableRun>(slot, store()).catch(() => undefined);
  const info: ResumableRun = { file: name, step: c.step, totalSteps: c.totalSteps, savedAt: c.savedAt, settings: c.settings, baseModel: pair.baseModel, instructModel: pair.instructModel, datasets: pair.datasets, modelId: c.modelId, bytes: blob.size, runId: pair.runId ?? null, startedAt: pair.startedAt ?? null };
  try {
    await idbSet(slot, info, store());
  } catch (e) {
    await d.removeEntry(name).catch(() => {});
    const err = e as Error;
    throw new CheckpointStorageError(`could not record the checkpoint in IndexedDB (${err.name}: ${err.message})`, { cause: e });
  }
  if (prev && prev.file !== name) await d.removeEntry(prev.file).catch(() => {});
  return info;
}

/** The unfinished run of `slot`, or null (none, or storage unavailable). */
export async function resumableRun(slot = RUN_SLOT): Promise<ResumableRun | null> {
  if (!checkpointStorageAvailable()) return null;
  return (await idbGet<ResumableRun>(slot, store()).catch(() => undefined)) ?? null;
}

/**
 * Reads and decodes the unfinished run's checkpoint.
 * @throws Error when there is none or its file is gone; CheckpointFileError for a damaged file.
 */
export async function loadRunCheckpoint(slot = RUN_SLOT): Promise<{ info: ResumableRun; checkpoint: TrainCheckpoint }> {
  const info = await resumableRun(slot);
  if (!info) throw new Error('There is no unfinished run to resume.');
  let file: File;
  try {
    file = await (await (await dir()).getFileHandle(info.file)).getFile();
  } catch (e) {
    throw new Error(`the checkpoint file ${info.file} of the unfinished run is gone from the browser's storage (${(e as Error).message})`);
  }
  return { info, checkpoint: await decodeCheckpoint(file, info.file) };
}

/** Forgets the unfinished run of `slot` and removes its checkpoint file (after a completed run, or on Discard). */
export async function clearRunCheckpoint(slot = RUN_SLOT): Promise<void> {
  if (!checkpointStorageAvailable()) return;
  const info = await resumableRun(slot);
  await idbDel(slot, store());
  if (info) await (await dir()).removeEntry(info.file).catch(() => {});
}
