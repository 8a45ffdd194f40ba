/**
 * Training settings as a LLaMA-Factory training YAML (LlamaBoard's "save / load arguments"): the keys the studio
 * shares with LLaMA-Factory (`hparams/finetuning_args.py`, `data_args.py`, `model_args.py`) and transformers'
 * TrainingArguments, written so `llamafactory-cli train` reads them, and read back from a YAML written by the studio
 * or by LLaMA-Factory. Keys the studio does not use are named, never silently dropped.
 * Warmup: transformers deprecates warmup_ratio, so the file holds warmup_steps = ceil(total · ratio) (schedule.ts);
 * reading turns it back into a ratio with the run's step count (a warmup_ratio of an older YAML is read as is).
 * Stage: `stage` sft or dpo, with dpo's pref_beta / pref_loss / pref_ftx (LLaMA-Factory `finetuning_args.py`).
 * finetuning_type: lora (with the lora_* keys) or full (no lora_* keys). LLaMA-Factory's full tuning has no switch to
 * freeze the embeddings (its freeze_* arguments belong to finetuning_type freeze), so "Train embeddings" off is written
 * as the comment line `# shadowft_train_embeddings: false` (an unknown key would stop `llamafactory-cli train`), which
 * the studio reads back; LLaMA-Factory trains embed_tokens.
 */
import { parse, stringify } from 'yaml';
import { TARGET_MODULES, type TargetModule, type TrainSettings } from '../worker/client';

/** Who the YAML is for: the model pair (model_name_or_path = Base, the Shadow-FT recipe) and the run's step count. */
export interface YamlContext {
  readonly baseModel: string | null;
  /** optimizer steps of a run with these settings (the estimate), for warmup_steps; null when unknown */
  readonly totalSteps: number | null;
}

/** pref_loss values the studio trains (engine/train/prefLoss.ts PREF_LOSS_TYPES). */
const PREF_LOSSES: readonly NonNullable<TrainSettings['prefLoss']>[] = ['sigmoid', 'hinge', 'ipo', 'orpo', 'simpo'];

/** The comment line that carries "Train embeddings" off (no LLaMA-Factory key exists for it). */
export const FROZEN_EMBEDDINGS_LINE = '# shadowft_train_embeddings: false';

/** ceil(total · ratio), as engine/train/schedule.ts warmupSteps counts it. */
const warmupOf = (total: number, ratio: number): number => Math.ceil(total * ratio);

/** The settings as LLaMA-Factory YAML text (with a comment naming what the studio wrote it for). */
export function settingsToYaml(s: TrainSettings, ctx: YamlContext): string {
  const r: Record<string, unknown> = {};
  if (ctx.baseModel) r.model_name_or_path = ctx.baseModel;
  const dpo = s.stage === 'dpo';
  const full = s.finetuningType === 'full';
  Object.assign(r, { stage: dpo ? 'dpo' : 'sft', do_train: true, finetuning_type: full ? 'full' : 'lora' });
  if (dpo) Object.assign(r, { pref_beta: s.prefBeta ?? 0.1, pref_loss: s.prefLoss ?? 'sigmoid', pref_ftx: s.prefFtx ?? 0 });
  if (!full) Object.assign(r, { lora_rank: s.lora.r, lora_alpha: s.lora.alpha, lora_dropout: s.lora.dropout, lora_target: s.lora.targetModules.join(','), use_rslora: s.lora.useRslora });
  r.cutoff_len = s.maxLength;
  Object.assign(r, { per_device_train_batch_size: s.batchSize, gradient_accumulation_steps: s.gradAccum, learning_rate: s.learningRate, num_train_epochs: s.epochs });
  if (s.maxSteps > 0) r.max_steps = s.maxSteps;
  r.lr_scheduler_type = 'cosine';
  if (ctx.totalSteps !== null) r.warmup_steps = warmupOf(ctx.totalSteps, s.warmupRatio);
  else r.warmup_ratio = s.warmupRatio;
  Object.assign(r, { weight_decay: s.weightDecay, max_grad_norm: s.maxGradNorm, adam_beta1: s.beta1, adam_beta2: s.beta2, adam_epsilon: s.adamEps, seed: s.seed });
  // LLaMA-Factory checkpoints activations unless told not to (model_args.py disable_gradient_checkpointing).
  r.disable_gradient_checkpointing = !s.recompute;
  if (s.evalSteps && s.evalSteps > 0) Object.assign(r, { eval_strategy: 'steps', eval_steps: s.evalSteps });
  const thinking = s.chatTemplateKwargs?.enable_thinking;
  if (typeof thinking === 'boolean') r.enable_thinking = thinking;
  const frozen = full && s.trainEmbeddings === false ? `${FROZEN_EMBEDDINGS_LINE} (studio only: LLaMA-Factory's full tuning trains embed_tokens)\n` : '';
  const head = `# Shadow-FT Studio training settings (LLaMA-Factory keys)${ctx.totalSteps !== null ? `; warmup_steps for ${ctx.totalSteps} optimizer steps` : ''}\n${frozen}`;
  return head + stringify(r);
}

/** What reading a YAML gave: the settings, and the keys it ignored with why. */
export interface YamlSettings {
  readonly settings: TrainSettings;
  /** "key: why" for each key the studio does not use or cannot follow */
  readonly ignored: readonly string[];
}

/** Keys that describe the job, not the training settings (read without comment). */
const CONTEXT_KEYS = new Set(['model_name_or_path', 'do_train', 'dataset', 'eval_dataset', 'dataset_dir', 'template', 'output_dir', 'overwrite_output_dir', 'plot_loss', 'report_to', 'logging_steps', 'save_steps', 'bf16', 'fp16', 'per_device_eval_batch_size', 'eval_strategy']);

/**
 * Settings from a LLaMA-Factory YAML over `current` (fields the file does not set keep their value).
 * @param name the file name, for messages
 * @throws Error naming the file and key when a value has the wrong type or range, or the text is not a YAML mapping
 */
export function settingsFromYaml(text: string, current: TrainSettings, ctx: YamlContext, name: string): YamlSettings {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${name}: not valid YAML (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${name}: expected a mapping of LLaMA-Factory arguments (key: value lines)`);
  const y = doc as Record<string, unknown>;
  const ignored: string[] = [];
  const num = (k: string, check: (v: number) => boolean, want: string): number | undefined => {
    if (!(k in y)) return undefined;
    const v = typeof y[k] === 'string' && (y[k] as string).trim() !== '' ? Number(y[k]) : y[k]; // "1.0e-4" is a string in YAML 1.2
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new Error(`${name}: ${k} must be ${want}, got ${JSON.stringify(y[k])}`);
    return v;
  };
  const bool = (k: string): boolean | undefined => {
    if (!(k in y)) return undefined;
    if (typeof y[k] !== 'boolean') throw new Error(`${name}: ${k} must be true or false, got ${JSON.stringify(y[k])}`);
    return y[k] as boolean;
  };
  const int = (v: number): boolean => Number.isInteger(v);
  let s: TrainSettings = current;
  const set = <K extends keyof TrainSettings>(k: K, v: TrainSettings[K] | undefined): void => {
    if (v !== undefined) s = { ...s, [k]: v };
  };
  const lora: { -readonly [K in keyof TrainSettings['lora']]: TrainSettings['lora'][K] } = { ...current.lora };
  lora.r = num('lora_rank', (v) => int(v) && v >= 1, 'a whole number ≥ 1') ?? lora.r;
  lora.alpha = num('lora_alpha', (v) => v > 0, 'a number > 0') ?? (y.lora_rank !== undefined ? 2 * lora.r : lora.alpha);
  lora.dropout = num('lora_dropout', (v) => v >= 0 && v < 1, 'in [0, 1)') ?? lora.dropout;
  lora.useRslora = bool('use_rslora') ?? lora.useRslora;
  if ('lora_target' in y) {
    const raw = y.lora_target;
    const list = typeof raw === 'string' ? raw.split(',').map((x) => x.trim()).filter(Boolean) : Array.isArray(raw) ? raw.map(String) : null;
    if (!list) throw new Error(`${name}: lora_target must be "all" or a comma-separated list of ${TARGET_MODULES.join(', ')}`);
    if (list.length === 1 && list[0] === 'all') lora.targetModules = [...TARGET_MODULES];
    else {
      const bad = list.filter((m) => !(TARGET_MODULES as readonly string[]).includes(m));
      if (bad.length) throw new Error(`${name}: lora_target ${bad.join(', ')} is not one of ${TARGET_MODULES.join(', ')} (or "all")`);
      lora.targetModules = TARGET_MODULES.filter((m) => list.includes(m)) as TargetModule[];
    }
  }
  s = { ...s, lora };
  set('maxLength', num('cutoff_len', (v) => int(v) && v >= 2, 'a whole number ≥ 2'));
  set('batchSize', num('per_device_train_batch_size', (v) => int(v) && v >= 1, 'a whole number ≥ 1'));
  set('gradAccum', num('gradient_accumulation_steps', (v) => int(v) && v >= 1, 'a whole number ≥ 1'));
  set('learningRate', num('learning_rate', (v) => v > 0 && v < 1, 'in (0, 1)'));
  const epochs = num('num_train_epochs', (v) => v > 0, 'a number > 0');
  if (epochs !== undefined) {
    if (!int(epochs)) ignored.push(`num_train_epochs: ${epochs} rounded up to ${Math.ceil(epochs)} (the studio runs whole epochs; use max_steps for a part)`);
    set('epochs', Math.ceil(epochs));
  }
  const maxSteps = num('max_steps', (v) => int(v), 'a whole number (−1 or 0 = all epochs)');
  if (maxSteps !== undefined) set('maxSteps', Math.max(0, maxSteps));
  set('weightDecay', num('weight_decay', (v) => v >= 0, 'a number ≥ 0'));
  set('maxGradNorm', num('max_grad_norm', (v) => v >= 0, 'a number ≥ 0'));
  set('beta1', num('adam_beta1', (v) => v >= 0 && v < 1, 'in [0, 1)'));
  set('beta2', num('adam_beta2', (v) => v >= 0 && v < 1, 'in [0, 1)'));
  set('adamEps', num('adam_epsilon', (v) => v > 0, 'a number > 0'));
  set('seed', num('seed', (v) => int(v) && v >= 0, 'a whole number ≥ 0'));
  const noCkpt = bool('disable_gradient_checkpointing');
  if (noCkpt !== undefined) set('recompute', !noCkpt);
  const ratio = num('warmup_ratio', (v) => v >= 0 && v <= 1, 'in [0, 1]');
  const wSteps = num('warmup_steps', (v) => v >= 0, 'a number ≥ 0');
  if (ratio !== undefined) set('warmupRatio', ratio);
  else if (wSteps !== undefined) {
    if (wSteps < 1 && !int(wSteps)) set('warmupRatio', wSteps); // transformers ≥ 5 reads a float < 1 as a ratio
    else if (ctx.totalSteps !== null && ctx.totalSteps > 0) set('warmupRatio', Math.min(1, wSteps / ctx.totalSteps));
    else ignored.push('warmup_steps: the run\'s step count is not known yet (load the models and data first); Warmup ratio kept');
  }
  if ('lr_scheduler_type' in y && y.lr_scheduler_type !== 'cosine') ignored.push(`lr_scheduler_type: ${String(y.lr_scheduler_type)} — the studio trains with cosine`);
  if ('finetuning_type' in y) {
    const { finetuningType: _t, trainEmbeddings: _e, ...rest } = s;
    if (y.finetuning_type === 'full') s = { ...rest, finetuningType: 'full', trainEmbeddings: !text.split('\n').some((l) => l.startsWith(FROZEN_EMBEDDINGS_LINE)) };
    else if (y.finetuning_type === 'lora') s = rest; // absent = lora
    else ignored.push(`finetuning_type: ${String(y.finetuning_type)} — the studio trains lora or full (freeze: see the handoff export)`);
  }
  for (const k of Object.keys(y)) if (k.startsWith('freeze_')) ignored.push(`${k}: belongs to finetuning_type freeze, which the studio does not train`);
  if ('stage' in y) {
    if (y.stage === 'dpo') s = { ...s, stage: 'dpo', prefBeta: s.prefBeta ?? 0.1, prefLoss: s.prefLoss ?? 'sigmoid', prefFtx: s.prefFtx ?? 0 };
    else if (y.stage === 'sft') {
      const { stage: _sft, ...rest } = s; // absent = sft
      s = rest;
    }
    else ignored.push(`stage: ${String(y.stage)} — the studio trains sft or dpo`);
  }
  set('prefBeta', num('pref_beta', (v) => v > 0, 'a number > 0'));
  set('prefFtx', num('pref_ftx', (v) => v >= 0, 'a number ≥ 0'));
  if ('pref_loss' in y) {
    const l = PREF_LOSSES.find((x) => x === y.pref_loss);
    if (!l) throw new Error(`${name}: pref_loss must be one of ${PREF_LOSSES.join(', ')}, got ${JSON.stringify(y.pref_loss)}`);
    set('prefLoss', l);
  }
  const evalSteps = num('eval_steps', (v) => v >= 0, 'a number ≥ 0');
  if (evalSteps !== undefined) {
    const strategy = y.eval_strategy ?? y.evaluation_strategy ?? 'steps';
    if (strategy !== 'steps') ignored.push(`eval_steps: eval_strategy is ${String(strategy)}, so held-out loss is not taken every N steps`);
    else if (!int(evalSteps) || evalSteps < 1) ignored.push(`eval_steps: ${evalSteps} is a fraction of the run; give a whole number of steps`);
    else set('evalSteps', evalSteps);
  }
  const thinking = bool('enable_thinking');
  if (thinking !== undefined) set('chatTemplateKwargs', { ...(current.chatTemplateKwargs ?? {}), enable_thinking: thinking });
  const used = new Set(['lora_rank', 'lora_alpha', 'lora_dropout', 'use_rslora', 'lora_target', 'cutoff_len', 'per_device_train_batch_size', 'gradient_accumulation_steps', 'learning_rate', 'num_train_epochs', 'max_steps', 'weight_decay', 'max_grad_norm', 'adam_beta1', 'adam_beta2', 'adam_epsilon', 'seed', 'disable_gradient_checkpointing', 'warmup_ratio', 'warmup_steps', 'lr_scheduler_type', 'finetuning_type', 'eval_steps', 'evaluation_strategy', 'enable_thinking', 'stage', 'pref_beta', 'pref_loss', 'pref_ftx']);
  for (const k of Object.keys(y)) if (!used.has(k) && !CONTEXT_KEYS.has(k) && !k.startsWith('freeze_')) ignored.push(`${k}: not a setting of the studio`);
  return { settings: s, ignored };
}
