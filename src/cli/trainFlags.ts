/**
 * The training flags every command that takes training settings shares (`train`, `compare`, `handoff`), with the
 * names of the UI's fields: --rank --alpha --dropout --rslora --targets --lr --epochs --max-steps --batch-size
 * --grad-accum --max-length --warmup-ratio --weight-decay --max-grad-norm --seed, the stage (--stage sft|dpo) and the
 * preference objective (--pref-beta --pref-loss --pref-ftx, LLaMA-Factory's names) (and --warmup-steps, resolved once the
 * step count is known: {@link warmupRatioForSteps}). `handoff` also accepts its earlier short names (--batch --accum
 * --wd --warmup --clip) as aliases.
 */
import { TARGET_MODULES, type TargetModule } from '../engine/model/loraTypes';
import type { TrainSettings } from '../engine/train/types';
import { PREF_LOSS_TYPES, type PrefLossType } from '../engine/train/prefLoss';

/** Number flags → top-level TrainSettings fields. */
const NUM_FLAGS = {
  lr: 'learningRate', epochs: 'epochs', 'max-steps': 'maxSteps', 'batch-size': 'batchSize', 'grad-accum': 'gradAccum',
  'max-length': 'maxLength', 'warmup-ratio': 'warmupRatio', 'weight-decay': 'weightDecay', 'max-grad-norm': 'maxGradNorm', seed: 'seed',
} as const;

/** Earlier short names (cli/handoff.ts) → the flag they stand for. */
export const TRAIN_FLAG_ALIASES = { batch: 'batch-size', accum: 'grad-accum', wd: 'weight-decay', warmup: 'warmup-ratio', clip: 'max-grad-norm' } as const;

const str = { type: 'string' } as const;

/** node:util parseArgs options of the training flags (--rslora is a boolean; the rest are strings); --warmup-steps is added by the commands that resolve it. */
export const TRAIN_FLAG_OPTIONS = {
  rank: str, alpha: str, dropout: str, rslora: { type: 'boolean' }, targets: str,
  stage: str, 'pref-beta': str, 'pref-loss': str, 'pref-ftx': str,
  ...Object.fromEntries(Object.keys(NUM_FLAGS).map((k) => [k, str])),
} as Record<string, { type: 'string' } | { type: 'boolean' }>;

/** {@link TRAIN_FLAG_OPTIONS} plus the aliases of {@link TRAIN_FLAG_ALIASES}. */
export const TRAIN_FLAG_OPTIONS_WITH_ALIASES = { ...TRAIN_FLAG_OPTIONS, ...Object.fromEntries(Object.keys(TRAIN_FLAG_ALIASES).map((k) => [k, str])) } as Record<string, { type: 'string' } | { type: 'boolean' }>;

/** Parses a number flag. @throws Error naming the flag. */
export function numFlag(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new Error(`--${flag}: expected a number, got "${v}"`);
  return x;
}

/**
 * Applies the flags (all but --warmup-steps, which needs the step count) to the defaults: --alpha defaults to 2·rank
 * when only --rank is given (the studio's default α = 2r). Aliases count as their flag; giving both is refused.
 * @throws Error naming the flag for a non-number, an unknown target module, or a flag given under both names.
 */
export function trainSettingsFromFlags(defaults: TrainSettings, given: Record<string, string | boolean | undefined>): TrainSettings {
  const v: Record<string, string | boolean | undefined> = { ...given };
  for (const [alias, flag] of Object.entries(TRAIN_FLAG_ALIASES)) {
    if (v[alias] === undefined) continue;
    if (v[flag] !== undefined) throw new Error(`give --${flag} or its alias --${alias}, not both`);
    v[flag] = v[alias];
  }
  const top: Record<string, number> = {};
  for (const [flag, field] of Object.entries(NUM_FLAGS)) {
    const x = v[flag];
    if (typeof x === 'string') top[field] = numFlag(flag, x);
  }
  const lora = { ...defaults.lora };
  if (typeof v['rank'] === 'string') lora.r = numFlag('rank', v['rank']);
  lora.alpha = typeof v['alpha'] === 'string' ? numFlag('alpha', v['alpha']) : typeof v['rank'] === 'string' ? 2 * lora.r : lora.alpha;
  if (typeof v['dropout'] === 'string') lora.dropout = numFlag('dropout', v['dropout']);
  if (v['rslora'] === true) lora.useRslora = true;
  if (typeof v['targets'] === 'string') {
    const names = v['targets'].split(',').map((s) => s.trim()).filter(Boolean);
    for (const n of names) if (!(TARGET_MODULES as readonly string[]).includes(n)) throw new Error(`--targets: ${n} is not one of ${TARGET_MODULES.join(', ')}`);
    lora.targetModules = TARGET_MODULES.filter((m) => names.includes(m)) as TargetModule[];
  }
  const pref: { -readonly [K in 'stage' | 'prefBeta' | 'prefLoss' | 'prefFtx']?: TrainSettings[K] } = {};
  if (typeof v['stage'] === 'string') {
    if (v['stage'] !== 'sft' && v['stage'] !== 'dpo') throw new Error(`--stage: expected sft or dpo, got "${v['stage']}"`);
    pref.stage = v['stage'];
  }
  if (typeof v['pref-beta'] === 'string') pref.prefBeta = numFlag('pref-beta', v['pref-beta']);
  if (typeof v['pref-ftx'] === 'string') pref.prefFtx = numFlag('pref-ftx', v['pref-ftx']);
  if (typeof v['pref-loss'] === 'string') {
    if (!(PREF_LOSS_TYPES as readonly string[]).includes(v['pref-loss'])) throw new Error(`--pref-loss: expected one of ${PREF_LOSS_TYPES.join(', ')}, got "${v['pref-loss']}"`);
    pref.prefLoss = v['pref-loss'] as PrefLossType;
  }
  const stage = pref.stage ?? defaults.stage ?? 'sft';
  if (stage !== 'dpo') for (const f of ['pref-beta', 'pref-loss', 'pref-ftx']) if (v[f] !== undefined) throw new Error(`--${f} applies to --stage dpo only`);
  return { ...defaults, ...top, lora, ...pref };
}

/**
 * The warmup ratio that gives exactly `w` warmup steps in a run of `total` optimizer steps: schedule.ts takes
 * ceil(total · ratio) warmup steps, and ceil(w − ½) = w, so the ratio is (w − ½)/total (0 for w = 0).
 * @throws Error naming --warmup-steps when w is not a whole number in 0..total.
 */
export function warmupRatioForSteps(w: number, total: number): number {
  if (!Number.isInteger(w) || w < 0 || w > total) throw new Error(`--warmup-steps: expected a whole number in 0..${total} (the run has ${total} optimizer steps), got ${w}`);
  return w === 0 ? 0 : (w - 0.5) / total;
}
