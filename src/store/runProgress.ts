/**
 * Progress and ETA of a whole run, not just its steps: tokenisation, loading each model onto the GPU, every held-out
 * evaluation and the optimizer steps, each a phase weighted by its estimated seconds. Estimates come from the run
 * plan (app/runEstimate.ts: required FLOPs, weight bytes, conversations) and a device speed: the FLOP/s measured in
 * an earlier run on this browser when there is one, else an assumed speed (labelled so). As the run goes, the time
 * between events is measured per kind of work (I/O: tokenise + load; compute: steps + evaluations) and the
 * remaining estimate of each kind is scaled by measured / estimated seconds of the work already done, so the ETA
 * follows the first measured step and keeps refining. Pure functions; times are milliseconds from the caller.
 */
import type { RunEstimate, SpeedSample, TrainEvent } from '../worker/client';

/** The phases of a run, in order. */
export type PhaseId = 'tokenise' | 'load-base' | 'reference' | 'eval-base' | 'train' | 'eval-base+lora' | 'load-instruct' | 'eval-instruct' | 'eval-instruct+graft';

/** One phase: what it is, the kind of work and its estimated seconds at the assumed speeds. */
export interface Phase {
  readonly id: PhaseId;
  readonly label: string;
  readonly kind: 'io' | 'compute';
  readonly estSec: number;
}

/** The speeds the estimate assumes. */
export interface Speeds {
  /** Required FLOPs per second of training and evaluation (flops.ts counting). */
  readonly flopsPerSec: number;
  /** true when flopsPerSec was measured (an earlier run on this browser, or a warm-up of this run), false when assumed. */
  readonly measured: boolean;
  /** Where a measured speed comes from: an earlier run on this GPU, or a warm-up of this run (store/speedWarmup.ts). */
  readonly source?: 'run' | 'warm-up';
  /** The warm-up's step and shape when source is 'warm-up'. */
  readonly warmup?: SpeedSample;
  readonly bytesPerSec: number;
  readonly secPerConversation: number;
  /**
   * Wall seconds per new token of greedy decoding, measured by the warm-up's decode (app/decodeWarmup.ts); absent
   * when not measured (the Compare estimate then counts answers as FLOPs at flopsPerSec and says so).
   */
  readonly decodeSecPerToken?: number;
}

/** Assumed speeds before anything was measured on a GPU: 100 GFLOP/s, 200 MB/s of weights, 1 ms per conversation. */
export const ASSUMED_SPEEDS: Speeds = { flopsPerSec: 1e11, measured: false, bytesPerSec: 2e8, secPerConversation: 1e-3 };

/**
 * Assumed speeds on a fallback (software) adapter such as SwiftShader: 2 GFLOP/s, a little under what the default demo
 * run measures in headless Chromium on SwiftShader on a 2-core machine (2.7–2.8 GFLOP/s of required FLOPs;
 * docs/performance.md).
 */
export const ASSUMED_FALLBACK_SPEEDS: Speeds = { ...ASSUMED_SPEEDS, flopsPerSec: 2e9 };

/** The phases of a run with estimate `e` at `speeds` (evaluations only when there is held-out data). */
export function planPhases(e: RunEstimate, speeds: Speeds): Phase[] {
  const evalSec = e.evalPassFlops / speeds.flopsPerSec;
  // A before-training loss left in the worker's cache by an earlier run on the same pair and data costs nothing.
  const cached = (id: PhaseId): boolean => (id === 'eval-base' && e.cachedEvals?.base === true) || (id === 'eval-instruct' && e.cachedEvals?.instruct === true);
  const ev = (id: PhaseId, label: string): Phase => ({ id, label, kind: 'compute', estSec: cached(id) ? 0 : evalSec });
  const phases: Phase[] = [
    { id: 'tokenise', label: 'Tokenise', kind: 'io', estSec: e.conversations * speeds.secPerConversation },
    { id: 'load-base', label: 'Load Base', kind: 'io', estSec: e.baseBytes / speeds.bytesPerSec },
  ];
  const held = e.evalPasses > 0;
  // Stage dpo: the reference pass (training pairs, adapter off) is its own phase, before the held-out Base pass.
  const refSec = (e.referenceFlops ?? 0) / speeds.flopsPerSec;
  if (e.referenceFlops !== undefined) phases.push({ id: 'reference', label: 'Reference log-probs (adapter off)', kind: 'compute', estSec: refSec });
  if (held) phases.push(ev('eval-base', 'Held-out loss: Base'));
  // Evaluations during training (Evaluate every N steps) happen between steps: they are part of the training phase.
  const during = e.evalsDuringTraining ?? 0;
  const trainLabel = during > 0 ? `Train ${e.totalSteps} steps (+ ${during} held-out evaluation${during === 1 ? '' : 's'})` : `Train ${e.totalSteps} steps`;
  phases.push({ id: 'train', label: trainLabel, kind: 'compute', estSec: (e.trainFlops + during * e.evalPassFlops) / speeds.flopsPerSec - refSec });
  if (held) {
    const full = e.finetuningType === 'full';
    phases.push(ev('eval-base+lora', full ? 'Held-out loss: tuned Base (full)' : 'Held-out loss: Base + LoRA'));
    phases.push({ id: 'load-instruct', label: 'Load Instruct', kind: 'io', estSec: e.instructBytes / speeds.bytesPerSec });
    phases.push(ev('eval-instruct', 'Held-out loss: Instruct'));
    phases.push(ev('eval-instruct+graft', full ? 'Held-out loss: Instruct + graft (full)' : 'Held-out loss: Instruct + grafted LoRA'));
  }
  return phases;
}

/** Total estimated seconds of a plan. */
export const totalSec = (phases: readonly Phase[]): number => phases.reduce((a, p) => a + p.estSec, 0);

/** The tracked state of a running run. */
export interface Tracker {
  readonly phases: readonly Phase[];
  /** Fraction done per phase (absent = 0). */
  readonly done: Readonly<Partial<Record<PhaseId, number>>>;
  /** Phases answered from a cache (held-out losses of an earlier run on the same pair and data): no work. */
  readonly skipped: readonly PhaseId[];
  readonly current: PhaseId | null;
  readonly lastAt: number;
  readonly startedAt: number;
  /** Measured ms and estimated seconds of the work done, per kind. */
  readonly actualMs: { readonly io: number; readonly compute: number };
  readonly doneEstSec: { readonly io: number; readonly compute: number };
  readonly loads: number;
}

/** A tracker at the start of a run (`now` ms). */
export function startTracker(phases: readonly Phase[], now: number): Tracker {
  return { phases, done: {}, skipped: [], current: 'tokenise', lastAt: now, startedAt: now, actualMs: { io: 0, compute: 0 }, doneEstSec: { io: 0, compute: 0 }, loads: 0 };
}

const EVAL_PHASE: Record<string, PhaseId> = { base: 'eval-base', 'base+lora': 'eval-base+lora', instruct: 'eval-instruct', 'instruct+graft': 'eval-instruct+graft' };

/** The phase an event reports on and its fraction done, or null for events that do not move progress. */
function where(t: Tracker, e: TrainEvent): { id: PhaseId; frac: number; skip?: boolean } | null {
  switch (e.status) {
    case 'preparing':
      if (e.phase === 'tokenise') return { id: 'tokenise', frac: 0 };
      if (e.phase === 'load') return { id: t.loads === 0 ? 'load-base' : 'load-instruct', frac: 0 };
      return null;
    case 'evaluating':
      return e.model ? { id: EVAL_PHASE[e.model] as PhaseId, frac: e.batches ? (e.batch ?? 0) / e.batches : 0 } : null;
    case 'eval':
      return { id: EVAL_PHASE[e.model] as PhaseId, frac: 1, ...(e.cached ? { skip: true } : {}) };
    case 'step':
      return { id: 'train', frac: e.step / Math.max(1, e.totalSteps) };
    case 'reference':
      return { id: 'reference', frac: e.batches ? e.batch / e.batches : 1, ...(e.cached ? { skip: true } : {}) };
    case 'pref-eval':
      return { id: EVAL_PHASE[e.model] as PhaseId, frac: 1 };
    default:
      return null;
  }
}

/**
 * The tracker after event `e` arrived at `now` ms: the time since the last event is the current phase's work.
 * A 'resumed' event (a run continued from a checkpoint) marks the steps of the earlier attempt done without counting
 * any time for them, so the whole-run bar starts where the checkpoint was and the ETA covers only what is left.
 */
export function track(t: Tracker, e: TrainEvent, now: number): Tracker {
  if (e.status === 'resumed') return { ...t, done: { ...t.done, train: Math.max(t.done.train ?? 0, e.step / Math.max(1, e.totalSteps)) } };
  const w = where(t, e);
  if (!w) return t;
  const byId = new Map(t.phases.map((p) => [p.id, p]));
  const done = { ...t.done };
  const actualMs = { ...t.actualMs };
  const doneEstSec = { ...t.doneEstSec };
  const skipped = w.skip ? [...t.skipped, w.id] : t.skipped;
  const dt = now - t.lastAt;
  const cur = t.current ? byId.get(t.current) : undefined;
  // The interval ends the current phase's work up to the new fraction (or the whole phase when another one starts).
  if (cur) {
    const before = done[cur.id] ?? 0;
    const after = cur.id === w.id ? Math.max(before, w.frac) : 1;
    done[cur.id] = after;
    if (!skipped.includes(cur.id)) {
      actualMs[cur.kind] += dt;
      doneEstSec[cur.kind] += cur.estSec * (after - before);
    }
  }
  // Phases between the current one and the new one are over (e.g. a Base eval answered from the cache).
  const order = t.phases.map((p) => p.id);
  const at = order.indexOf(w.id);
  for (let i = 0; i < at; i++) done[order[i] as PhaseId] = 1;
  done[w.id] = Math.max(done[w.id] ?? 0, w.frac);
  const loads = e.status === 'preparing' && e.phase === 'load' ? t.loads + 1 : t.loads;
  return { ...t, done, skipped, current: w.frac >= 1 ? null : w.id, lastAt: now, actualMs, doneEstSec, loads };
}

/** Measured / estimated time of the work done of a kind (1 before any was measured). */
function ratio(t: Tracker, kind: 'io' | 'compute'): number {
  const est = t.doneEstSec[kind];
  return est > 1e-9 && t.actualMs[kind] > 0 ? t.actualMs[kind] / 1000 / est : 1;
}

/** Where a run stands at `now` ms. */
export interface RunProgressView {
  /** Fraction of the whole run's estimated work done, in [0, 1]. */
  readonly fraction: number;
  /** Seconds left (estimate, refined by the measured speed), and seconds since the start. */
  readonly etaSec: number;
  readonly elapsedSec: number;
  /** Each phase with its own fraction done (skipped: answered from a cache). */
  readonly phases: readonly { readonly id: PhaseId; readonly label: string; readonly fraction: number; readonly skipped: boolean; readonly current: boolean }[];
  /** Measured FLOP/s of the compute done so far (null before any was measured), given the assumed `flopsPerSec`. */
  readonly measuredFlopsPerSec: number | null;
}

/** The progress view of `t` at `now` ms; `flopsPerSec` is the speed the estimate was made with. */
export function progressOf(t: Tracker, now: number, flopsPerSec: number): RunProgressView {
  let all = 0;
  let doneSec = 0;
  let remaining = 0;
  const phases = t.phases.map((p) => {
    const skipped = t.skipped.includes(p.id);
    const f = Math.min(1, t.done[p.id] ?? 0);
    const est = skipped ? 0 : p.estSec;
    all += est;
    doneSec += est * f;
    remaining += est * (1 - f) * ratio(t, p.kind);
    return { id: p.id, label: p.label, fraction: f, skipped, current: t.current === p.id };
  });
  const sinceLast = (now - t.lastAt) / 1000;
  const measured = t.doneEstSec.compute > 1e-12 && t.actualMs.compute > 0 ? flopsPerSec / ratio(t, 'compute') : null;
  return { fraction: all > 0 ? doneSec / all : 0, etaSec: Math.max(0, remaining - sinceLast), elapsedSec: (now - t.startedAt) / 1000, phases, measuredFlopsPerSec: measured };
}
