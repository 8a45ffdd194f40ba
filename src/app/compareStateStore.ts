/**
 * Where a durable comparison (app/durableCompare.ts) keeps what it has finished: its {@link CompareState} (settings,
 * options, the pair and datasets, each finished run's adapter as PEFT files with its steps and losses, each measured
 * model's held-out loss and answers) and the checkpoint of the training run under way. Two implementations: the
 * browser's (the state in IndexedDB next to the run checkpoint index, the checkpoint file in OPFS under the
 * comparison's own slot, checkpointStore.ts COMPARE_SLOT) and an in-memory one for Node and tests (the checkpoint
 * encoded and decoded through the same safetensors file format, engine/train/checkpointFile.ts).
 */
import { del as idbDel, get as idbGet, set as idbSet } from 'idb-keyval';
import type { TrainCheckpoint } from '../engine/train/checkpoint';
import { decodeCheckpoint, encodeCheckpoint } from '../engine/train/checkpointFile';
import type { TrainSettings } from '../engine/train/types';
import { checkpointIndexStore, checkpointStorageAvailable, clearRunCheckpoint, COMPARE_SLOT, loadRunCheckpoint, resumableRun, saveRunCheckpoint } from './checkpointStore';
import type { VariantMeasures } from './compare/evaluate';
import type { CompareModel, CompareOptions, CompareRun } from './compare/types';
import type { AdapterFilesData } from './training';

/** A finished training run of a comparison: its adapter (PEFT files, F32), optimizer steps and per-step losses. */
export interface StoredCompareRun {
  readonly files: AdapterFilesData;
  readonly steps: number;
  readonly losses: readonly number[];
}

/** What a comparison has finished so far (structured-cloneable). */
export interface CompareState {
  /** the comparison's run-history id and start time (ISO), kept across a resume */
  readonly id: string;
  readonly startedAt: string;
  readonly settings: TrainSettings;
  readonly options: CompareOptions;
  /** dropped folder names of the pair, and the ticked dataset paths */
  readonly baseModel: string;
  readonly instructModel: string;
  readonly datasets: readonly string[];
  readonly runs: Partial<Readonly<Record<CompareRun, StoredCompareRun>>>;
  readonly measured: Partial<Readonly<Record<CompareModel, VariantMeasures>>>;
  /** the run under way and the step of its last stored checkpoint (null: none stored) */
  readonly checkpoint: { readonly run: CompareRun; readonly step: number; readonly totalSteps: number } | null;
}

/** Storage of one comparison's state (one at a time). Every method may reject with the storage's error. */
export interface CompareStateStore {
  /** false when nothing survives the page (the in-memory store of a browser without storage) */
  readonly durable: boolean;
  load(): Promise<CompareState | null>;
  /** the checkpoint named by the stored state's `checkpoint`, or null */
  loadCheckpoint(): Promise<TrainCheckpoint | null>;
  /** Writes the state; a state without `checkpoint` forgets the stored checkpoint. */
  save(state: CompareState): Promise<void>;
  /** Writes checkpoint `c` of the run `state.checkpoint` names, then the state (a failed write keeps the earlier one). */
  saveCheckpoint(c: TrainCheckpoint, state: CompareState): Promise<void>;
  clear(): Promise<void>;
}

/** An in-memory store (Node, tests; values are structured-cloned, the checkpoint goes through its file format). */
export function memoryCompareStore(): CompareStateStore {
  let state: CompareState | null = null;
  let ckpt: Blob | null = null;
  return {
    durable: false,
    load: async () => (state ? structuredClone(state) : null),
    loadCheckpoint: async () => (state?.checkpoint && ckpt ? decodeCheckpoint(ckpt, 'compare-checkpoint.safetensors') : null),
    save: async (s) => {
      state = structuredClone(s);
      if (!s.checkpoint) ckpt = null;
    },
    saveCheckpoint: async (c, s) => {
      ckpt = encodeCheckpoint(c);
      state = structuredClone(s);
    },
    clear: async () => {
      state = null;
      ckpt = null;
    },
  };
}

const KEY = 'compare-state';

/**
 * The browser's store (see the file comment); null where this runtime has no OPFS and IndexedDB (Node).
 */
export function browserCompareStore(): CompareStateStore | null {
  if (!checkpointStorageAvailable()) return null;
  const idx = checkpointIndexStore;
  return {
    durable: true,
    load: async () => (await idbGet<CompareState>(KEY, idx())) ?? null,
    loadCheckpoint: async () => {
      const s = await idbGet<CompareState>(KEY, idx());
      if (!s?.checkpoint || !(await resumableRun(COMPARE_SLOT))) return null;
      return (await loadRunCheckpoint(COMPARE_SLOT)).checkpoint;
    },
    save: async (s) => {
      await idbSet(KEY, s, idx());
      if (!s.checkpoint) await clearRunCheckpoint(COMPARE_SLOT);
    },
    saveCheckpoint: async (c, s) => {
      await saveRunCheckpoint(c, { baseModel: s.baseModel, instructModel: s.instructModel, datasets: s.datasets, runId: s.id, startedAt: s.startedAt }, COMPARE_SLOT);
      await idbSet(KEY, s, idx());
    },
    clear: async () => {
      await idbDel(KEY, idx());
      await clearRunCheckpoint(COMPARE_SLOT);
    },
  };
}

let shared: CompareStateStore | null = null;
/** This runtime's store, made once: the browser's where it has storage, else one in memory (lost with the worker). */
export function defaultCompareStore(): CompareStateStore {
  return (shared ??= browserCompareStore() ?? memoryCompareStore());
}
