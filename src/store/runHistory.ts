/**
 * The run history: every training run keeps its own record — id, settings, status (complete / cancelled at k/n /
 * failed with the error; "running" while it runs, which a reload shows as interrupted), loss curve, held-out results,
 * timestamped log, the pair's names and identity — and its own adapter files (AdapterFilesData). A run never
 * overwrites another: each has its own id, created when it starts (the key checkpoints of the same run attach to).
 * Records are stored under "run:<id>", adapters under "adapter:<id>" (listed without loading the adapters), in a
 * {@link KeyValueBackend}: IndexedDB in the app, a Map in tests.
 * A comparison is a record too (kind "compare", issue 20): its settings and options, both training curves, the result
 * table and the answers ({@link CompareRecordPart}); its Shadow-FT adapter (LoRA on Base) is the record's adapter (so
 * Try it and the export panel use it as any run's), its conventional adapter is kept under "adapter-conventional:<id>".
 */
import type { AdapterFilesData, CompareOptions, CompareRun, CompareView, TrainOutcome, TrainSettings } from '../worker/client';
import type { KeyValueBackend } from './runHistoryBackend';
import type { EvalLoss, EvalPoint, PrefEvalView, StepPoint } from './types';

/** Schema version of a stored record; records of another version are not listed. */
export const RUN_RECORD_VERSION = 1;

/** How a run ended ("running": still running, or interrupted by a reload / crash when no live run has its id). */
export type RunStatus = 'running' | 'complete' | 'cancelled' | 'failed';

/** One line of a run's log with the time it was received (ISO 8601, UTC; shown in local time). */
export interface LogLine {
  readonly at: string;
  readonly text: string;
}

/** What a comparison's record holds besides a run's fields. */
export interface CompareRecordPart {
  readonly options: CompareOptions;
  /** per-step training losses of both runs */
  readonly curves: Readonly<Record<CompareRun, readonly { readonly step: number; readonly loss: number }[]>>;
  /** the result table, wording and answers; null until the comparison completes */
  readonly view: CompareView | null;
  /** true once both adapters are stored */
  readonly hasAdapters: boolean;
}

/** The stored record of one run (everything but the adapter's bytes). */
export interface RunRecord {
  /** "compare" for a comparison (absent: a training run, as in records from before comparisons were kept) */
  readonly kind?: 'train' | 'compare';
  /** the comparison's own part (kind "compare" only) */
  readonly compare?: CompareRecordPart;
  readonly version: number;
  /** Created when the run starts (see {@link newRunId}). */
  readonly id: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly status: RunStatus;
  /** Optimizer steps done and planned (k/n). */
  readonly stepsDone: number;
  readonly totalSteps: number;
  /** The error of a failed run. */
  readonly error: string | null;
  readonly settings: TrainSettings;
  readonly baseModel: string;
  readonly instructModel: string;
  /** SessionSummary.pairId of the pair trained (io/identity.ts), null when unknown. */
  readonly pairId: string | null;
  readonly points: readonly StepPoint[];
  readonly evals: readonly EvalLoss[];
  /** Held-out losses measured during training (Evaluate every N steps); absent in records from before they existed. */
  readonly evalPoints?: readonly EvalPoint[];
  /** Stage dpo: held-out preference metrics (absent for SFT runs and records of earlier versions). */
  readonly prefEvals?: readonly PrefEvalView[];
  readonly log: readonly LogLine[];
  /** Counts of the run (examples, skipped, truncated) once it ended with an adapter. */
  readonly outcome: Omit<TrainOutcome, 'adapterFiles' | 'settings'> | null;
  /** True once the run's adapter files are stored. */
  readonly hasAdapter: boolean;
  /** Required FLOP/s measured in this run (runProgress.ts), to estimate the next run on the same device. */
  readonly measuredFlopsPerSec: number | null;
  /** The WebGPU adapter the run ran on ({@link deviceName}), null when unknown. */
  readonly device: string | null;
}

/**
 * A new run id: "run-" + the start time (ms, base 36, 9 digits) + 6 random base-36 characters; unique per browser, sortable
 * by start time.
 */
export function newRunId(now = Date.now()): string {
  const rnd = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0');
  return `run-${now.toString(36).padStart(9, "0")}-${rnd}`;
}

const RUN = 'run:';
const ADAPTER = 'adapter:';
const CONVENTIONAL = 'adapter-conventional:';

/** The run history over a backend. Every method may reject with the backend's error (quota, private mode). */
export class RunHistory {
  constructor(private readonly backend: KeyValueBackend) {}

  /** Every stored run of this schema version, newest start first. */
  async list(): Promise<RunRecord[]> {
    const ks = (await this.backend.keys()).filter((k) => k.startsWith(RUN));
    const records = await Promise.all(ks.map((k) => this.backend.get<RunRecord>(k)));
    return records.filter((r): r is RunRecord => r !== undefined && r.version === RUN_RECORD_VERSION).sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
  }

  /** One run, or null. */
  async get(id: string): Promise<RunRecord | null> {
    const r = await this.backend.get<RunRecord>(RUN + id);
    return r && r.version === RUN_RECORD_VERSION ? r : null;
  }

  /** Writes a run's record (its id is its key: another run is never touched). */
  async put(record: RunRecord): Promise<void> {
    await this.backend.set(RUN + record.id, record);
  }

  /** Stores the adapter files of run `id` and marks the record as having them. @throws Error for an unknown run */
  async putAdapter(id: string, files: AdapterFilesData): Promise<RunRecord> {
    const r = await this.get(id);
    if (!r) throw new Error(`run ${id} is not in the history`);
    await this.backend.set(ADAPTER + id, files);
    const next = { ...r, hasAdapter: true };
    await this.put(next);
    return next;
  }

  /** The adapter files of run `id`, or null when it has none. */
  async adapter(id: string): Promise<AdapterFilesData | null> {
    return (await this.backend.get<AdapterFilesData>(ADAPTER + id)) ?? null;
  }

  /** Stores the conventional adapter of comparison `id` and marks it as having both. @throws Error for an unknown run */
  async putConventional(id: string, files: AdapterFilesData): Promise<RunRecord> {
    const r = await this.get(id);
    if (!r?.compare) throw new Error(`comparison ${id} is not in the history`);
    await this.backend.set(CONVENTIONAL + id, files);
    const next = { ...r, compare: { ...r.compare, hasAdapters: true } };
    await this.put(next);
    return next;
  }

  /** Both adapters of comparison `id` (shadow: the record's adapter), or null when either is missing. */
  async compareAdapters(id: string): Promise<Record<CompareRun, AdapterFilesData> | null> {
    const [shadow, conventional] = await Promise.all([this.adapter(id), this.backend.get<AdapterFilesData>(CONVENTIONAL + id)]);
    return shadow && conventional ? { shadow, conventional } : null;
  }

  /** The conventional adapter of comparison `id`, or null. */
  async conventional(id: string): Promise<AdapterFilesData | null> {
    return (await this.backend.get<AdapterFilesData>(CONVENTIONAL + id)) ?? null;
  }

  /** Deletes run `id` and its adapter(s) (no-op when absent). */
  async remove(id: string): Promise<void> {
    await this.backend.del(CONVENTIONAL + id);
    await this.backend.del(ADAPTER + id);
    await this.backend.del(RUN + id);
  }
}

/** The final loss of a run: the EMA-smoothed value (ui/ema.ts weighting, passed in) and the last raw step loss. */
export interface FinalLoss {
  readonly smoothed: number;
  readonly last: number;
}

/** "complete (20/20 steps)", "cancelled at 3/10", "failed at 2/10: <error>", "interrupted at 4/10" (running, not live). */
export function statusLabel(r: Pick<RunRecord, 'status' | 'stepsDone' | 'totalSteps' | 'error'>, live: boolean): string {
  const kn = `${r.stepsDone}/${r.totalSteps || '?'}`;
  switch (r.status) {
    case 'complete':
      return `complete (${kn} steps)`;
    case 'cancelled':
      return `cancelled at ${kn}`;
    case 'failed':
      return `failed at ${kn}: ${r.error ?? 'unknown error'}`;
    case 'running':
      return live ? `running (${kn})` : `interrupted at ${kn} (the page was closed or reloaded)`;
  }
}

/** A WebGPU adapter's name for matching measured speeds: "vendor architecture description" (+ " (fallback)"). */
export function deviceName(a: { readonly vendor: string; readonly architecture: string; readonly description: string; readonly isFallbackAdapter: boolean }): string {
  return `${a.vendor} ${a.architecture} ${a.description}${a.isFallbackAdapter ? ' (fallback)' : ''}`.trim();
}

/** True when every recorded step trained at learning rate 0 (the adapter is unchanged: B = 0). */
export function trainedAtZeroLr(points: readonly StepPoint[]): boolean {
  return points.length > 0 && points.every((p) => p.learningRate === 0);
}

/**
 * The settings of a run as one line for the history table: everything that sets its length and recipe, so two runs
 * that differ are told apart ("r 8, α 16, lr 0.001, batch 8×1, max length 64, 3 epochs → 114 steps, warmup 10%,
 * seed 42"; "max 30 steps" when Max steps cut the epochs; "dropout 0.05", "recompute" only when set). Stage dpo
 * runs start with their objective ("DPO (sigmoid, β 0.1), r 8, …"; ", ftx 0.5" when pref_ftx is set). A comparison
 * starts with its options ("Compare (30 prompts × 64 tokens, check ^Title: ), …") and counts its two trainings
 * ("→ 2 × 10 steps"; its totalSteps are both runs' together).
 */
export function settingsSummary(r: Pick<RunRecord, 'settings' | 'totalSteps'> & Partial<Pick<RunRecord, 'kind' | 'compare'>>): string {
  const s = r.settings;
  const o = r.kind === 'compare' ? r.compare?.options : undefined;
  const cmp = o ? `Compare (${o.evalPrompts} prompts × ${o.maxNewTokens} tokens${o.checkRegex ? `, check ${o.checkRegex}` : ''}), ` : '';
  const stage = cmp + (s.stage === 'dpo' ? `DPO (${s.prefLoss ?? 'sigmoid'}, β ${s.prefBeta ?? 0.1}${s.prefFtx ? `, ftx ${s.prefFtx}` : ''}), ` : '');
  const length = s.maxSteps > 0 ? `max ${s.maxSteps} steps` : `${s.epochs} epoch${s.epochs === 1 ? '' : 's'}`;
  const steps = r.totalSteps > 0 ? (o ? ` → 2 × ${Math.round(r.totalSteps / 2)} steps` : ` → ${r.totalSteps} steps`) : '';
  const dropout = s.lora.dropout > 0 ? `, dropout ${s.lora.dropout}` : '';
  // finetuning_type full: no LoRA settings apply.
  const method = s.finetuningType === 'full' ? `finetuning_type full${s.trainEmbeddings === false ? ' (embeddings frozen)' : ''}` : `r ${s.lora.r}, α ${s.lora.alpha}${dropout}`;
  return `${stage}${method}, lr ${s.learningRate}, batch ${s.batchSize}×${s.gradAccum}, max length ${s.maxLength}, ${length}${steps}, warmup ${Math.round(s.warmupRatio * 100)}%, seed ${s.seed}${s.recompute ? ', recompute' : ''}`;
}
