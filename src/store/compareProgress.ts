/**
 * Progress and ETA of a whole comparison (issue 20, fault 1): one phase per stage — the two trainings, and for each
 * of the five models its held-out loss and its answers — each weighted by its estimated seconds (app/compareEstimate.ts
 * FLOPs at the speed a run is estimated with; loading a model's weights is added to the first stage on it). As in
 * runProgress.ts, the time between events is measured per kind of work (training and evaluation; answer generation,
 * which the FLOP count fits worst) and the remaining estimate of each kind is scaled by measured / estimated seconds
 * of the work done, so the ETA follows the measured speed. Pure functions; times are milliseconds from the caller.
 */
import type { CompareEstimate, CompareEvent, CompareModel } from '../worker/client';
import { COMPARE_MODELS, compareModelLabels, runLabel } from '../worker/client';
import type { Speeds } from './runProgress';

type Kind = 'compute' | 'decode';

/** One stage of a comparison. */
export interface ComparePhase {
  /** "train-shadow", "train-conventional", "loss-<model>", "answers-<model>" */
  readonly id: string;
  readonly label: string;
  readonly kind: Kind;
  readonly estSec: number;
}

/**
 * The stages of a comparison with estimate `e` at `speeds`, in the order the comparison runs them: training, held-out
 * losses and loading at speeds.flopsPerSec / bytesPerSec; answers as their new tokens (answerTokens, an upper bound)
 * at the measured seconds per token (speeds.decodeSecPerToken) when there is one, else as FLOPs at flopsPerSec.
 */
export function planCompare(e: CompareEstimate, speeds: Speeds): ComparePhase[] {
  const sec = (flops: number): number => flops / speeds.flopsPerSec;
  const steps = e.run.totalSteps;
  // An estimate kept from before comparisons had kinds has none: it was LoRA SFT.
  const kind = e.kind ?? { stage: 'sft', finetuningType: 'lora' };
  const phases: ComparePhase[] = [
    { id: 'train-shadow', label: `Train ${runLabel(kind, 'shadow')}: ${steps} steps`, kind: 'compute', estSec: sec(e.run.trainFlops) + e.run.baseBytes / speeds.bytesPerSec },
    { id: 'train-conventional', label: `Train ${runLabel(kind, 'conventional')}: ${steps} steps`, kind: 'compute', estSec: sec(e.run.trainFlops) + e.run.instructBytes / speeds.bytesPerSec },
  ];
  // runCompare.ts measures Base, Base + LoRA, then Instruct, Instruct + conventional, Instruct + Shadow-FT.
  const order: CompareModel[] = ['base', 'base_lora', 'instruct', 'instruct_conventional', 'instruct_shadow'];
  for (const m of order.filter((x) => COMPARE_MODELS.includes(x))) {
    const load = m === 'base' ? e.run.baseBytes : m === 'instruct' ? e.run.instructBytes : 0;
    phases.push({ id: `loss-${m}`, label: `Held-out loss: ${compareModelLabels(kind)[m]}`, kind: 'compute', estSec: sec(e.run.evalPassFlops) + load / speeds.bytesPerSec });
    if (e.prompts > 0) phases.push({ id: `answers-${m}`, label: `${e.prompts} answers: ${compareModelLabels(kind)[m]}`, kind: 'decode', estSec: speeds.decodeSecPerToken !== undefined ? e.answerTokens * speeds.decodeSecPerToken : e.answerFlops / speeds.flopsPerSec });
  }
  return phases;
}

/** A comparison under way. */
export interface CompareTracker {
  readonly phases: readonly ComparePhase[];
  /** prompts each model answers (the estimate's count) */
  readonly prompts: number;
  readonly done: Readonly<Record<string, number>>;
  readonly current: string | null;
  readonly lastAt: number;
  readonly startedAt: number;
  readonly actualMs: Readonly<Record<Kind, number>>;
  readonly doneEstSec: Readonly<Record<Kind, number>>;
}

/** A tracker at the start (`now` ms) of a comparison whose models answer `prompts` prompts each. */
export function startCompareTracker(phases: readonly ComparePhase[], prompts: number, now: number): CompareTracker {
  return { phases, prompts, done: {}, current: phases[0]?.id ?? null, lastAt: now, startedAt: now, actualMs: { compute: 0, decode: 0 }, doneEstSec: { compute: 0, decode: 0 } };
}

/** The stage an event reports on and its fraction done, or null. */
function where(e: CompareEvent, prompts: number): { id: string; frac: number } | null {
  switch (e.status) {
    case 'compare-train':
      return e.event.status === 'step' ? { id: `train-${e.run}`, frac: e.event.step / Math.max(1, e.event.totalSteps) } : e.event.status === 'preparing' && e.event.phase === 'load' ? { id: `train-${e.run}`, frac: 0 } : null;
    case 'compare-eval':
      return { id: `loss-${e.model}`, frac: e.batch / Math.max(1, e.batches) };
    case 'compare-loss':
      return { id: `loss-${e.model}`, frac: 1 };
    case 'compare-generating':
      return { id: `answers-${e.model}`, frac: (e.prompt - 1) / Math.max(1, e.prompts) };
    case 'compare-answer':
      return { id: `answers-${e.model}`, frac: Math.min(1, (e.answer.index + 1) / Math.max(1, prompts)) };
    default:
      return null;
  }
}

/**
 * The tracker after stages were found done by an earlier attempt (a resumed comparison's 'compare-resumed' event, or
 * a resumed training's 'resumed' event): they count as done without counting the time since the last event as their
 * work, so the measured-speed ratio of the ETA stays the ratio of work really timed.
 */
function skipDone(t: CompareTracker, e: CompareEvent, now: number): CompareTracker | null {
  const done = { ...t.done };
  if (e.status === 'compare-resumed') {
    for (const r of e.trained) done[`train-${r.run}`] = 1;
    for (const m of e.measured) {
      done[`loss-${m}`] = 1;
      done[`answers-${m}`] = 1;
    }
    if (e.checkpoint) done[`train-${e.checkpoint.run}`] = e.checkpoint.step / Math.max(1, e.checkpoint.totalSteps);
  } else if (e.status === 'compare-train' && e.event.status === 'resumed') {
    done[`train-${e.run}`] = e.event.step / Math.max(1, e.event.totalSteps);
  } else return null;
  const open = t.phases.find((p) => (done[p.id] ?? 0) < 1);
  return { ...t, done, current: open?.id ?? null, lastAt: now };
}

/** The tracker after event `e` at `now` ms: the time since the last event is the current stage's work. */
export function trackCompare(t: CompareTracker, e: CompareEvent, now: number): CompareTracker {
  const skipped = skipDone(t, e, now);
  if (skipped) return skipped;
  const w = where(e, t.prompts);
  if (!w) return t;
  const order = t.phases.map((p) => p.id);
  const at = order.indexOf(w.id);
  if (at < 0) return t;
  const frac = w.frac;
  const phase = t.phases[at] as ComparePhase;
  const done = { ...t.done };
  const actualMs = { ...t.actualMs };
  const doneEstSec = { ...t.doneEstSec };
  // The interval is the work of the current stage up to the new fraction (all of it when another one starts), or,
  // when the current stage had finished, the work of the reported stage so far.
  const cur = t.current ? t.phases.find((p) => p.id === t.current) : undefined;
  const open = cur && (done[cur.id] ?? 0) < 1 ? cur : phase;
  const before = done[open.id] ?? 0;
  const after = open.id === w.id ? Math.max(before, frac) : 1;
  done[open.id] = after;
  actualMs[open.kind] += now - t.lastAt;
  doneEstSec[open.kind] += open.estSec * (after - before);
  for (let i = 0; i < at; i++) done[order[i] as string] = 1;
  done[w.id] = Math.max(done[w.id] ?? 0, frac);
  return { ...t, done, current: w.id, lastAt: now, actualMs, doneEstSec };
}

/** Where a comparison stands at `now` ms: whole-job fraction, ETA, elapsed, and each stage. */
export interface CompareProgressView {
  readonly fraction: number;
  readonly etaSec: number;
  readonly elapsedSec: number;
  readonly phases: readonly { readonly id: string; readonly label: string; readonly fraction: number; readonly current: boolean }[];
}

/** The progress view of `t` at `now` ms. */
export function compareProgressOf(t: CompareTracker, now: number): CompareProgressView {
  const ratio = (k: Kind): number => (t.doneEstSec[k] > 1e-9 && t.actualMs[k] > 0 ? t.actualMs[k] / 1000 / t.doneEstSec[k] : k === 'decode' ? ratio('compute') : 1);
  let all = 0;
  let doneSec = 0;
  let remaining = 0;
  const phases = t.phases.map((p) => {
    const f = Math.min(1, t.done[p.id] ?? 0);
    all += p.estSec;
    doneSec += p.estSec * f;
    remaining += p.estSec * (1 - f) * ratio(p.kind);
    return { id: p.id, label: p.label, fraction: f, current: t.current === p.id };
  });
  return { fraction: all > 0 ? doneSec / all : 0, etaSec: Math.max(0, remaining - (now - t.lastAt) / 1000), elapsedSec: (now - t.startedAt) / 1000, phases };
}
