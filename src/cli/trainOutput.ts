/**
 * The output folder of `shadowft train`: `checkpoints/` (the latest training checkpoint, engine/train/checkpointFile.ts,
 * written as a `.partial` file renamed when complete; older ones are removed only after the new one is in place, so
 * a crash or a full disk never leaves the folder without a complete checkpoint), `run.log` (one line per event with
 * an ISO timestamp, appended), `trainer_state.json` (HF Trainer log_history: step losses and held-out evaluations, with
 * TRL's DPOTrainer metrics for stage dpo; rewritten at each checkpoint and at the end) and `adapter/` (the PEFT adapter, written atomically at the end).
 */
import { appendFile, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openAsBlob } from 'node:fs';
import type { TrainCheckpoint } from '../engine/train/checkpoint';
import type { PrefMetrics } from '../engine/train/prefLoss';
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

/**
 * One entry of trainer_state.json's log_history (HF Trainer names): a training step (`loss`, `learning_rate`,
 * `grad_norm`) or a held-out evaluation (`eval_loss`), with `epoch` and `step`; stage dpo adds the preference metrics
 * of {@link prefLogFields}.
 */
export type LogHistoryEntry = { readonly epoch: number; readonly step: number; readonly [metric: string]: number };

/**
 * The preference metrics of a step (prefix '') or a held-out evaluation (prefix 'eval_') under the names TRL's
 * DPOTrainer and LLaMA-Factory's CustomDPOTrainer log (`get_batch_loss_metrics` in trl/trainer/dpo_trainer.py and
 * llamafactory/train/dpo/trainer.py): rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins,
 * logps/chosen, logps/rejected (the log-probs as the loss uses them: sums, or per-token means for ipo/orpo/simpo).
 * Their logits/chosen and logits/rejected (mean raw logits) are not computed by the studio and not logged.
 */
export function prefLogFields(m: PrefMetrics, prefix: '' | 'eval_'): Record<string, number> {
  return {
    [`${prefix}rewards/chosen`]: m.rewardsChosen, [`${prefix}rewards/rejected`]: m.rewardsRejected, [`${prefix}rewards/accuracies`]: m.accuracy,
    [`${prefix}rewards/margins`]: m.margin, [`${prefix}logps/chosen`]: m.logpsChosen, [`${prefix}logps/rejected`]: m.logpsRejected,
  };
}

/** What {@link trainerState} needs beyond the log. */
export interface TrainerStateInfo {
  /** optimizer steps done and planned */
  readonly globalStep: number;
  readonly maxSteps: number;
  /** optimizer steps per epoch (ceil(ceil(examples / batch) / accumulation)); epoch = step / this */
  readonly stepsPerEpoch: number;
  readonly numTrainEpochs: number;
  readonly trainBatchSize: number;
  /** --eval-steps (0: evaluated before and after training only) */
  readonly evalSteps: number;
}

/**
 * A trainer_state.json as transformers' Trainer writes it (TrainerState in `transformers/trainer_callback.py`:
 * log_history with `loss`, `learning_rate`, `grad_norm` per logged step and `eval_loss` per evaluation, `epoch`
 * fractional), so LLaMA-Factory users' tools (loss plots, `plot_loss`) read our runs. Entries are sorted by step,
 * training before evaluation at the same step.
 */
export function trainerState(log: readonly LogHistoryEntry[], info: TrainerStateInfo): Record<string, unknown> {
  const history = [...log].sort((a, b) => a.step - b.step || Number('eval_loss' in a) - Number('eval_loss' in b));
  return {
    best_global_step: null, best_metric: null, best_model_checkpoint: null,
    epoch: info.globalStep / Math.max(1, info.stepsPerEpoch),
    eval_steps: info.evalSteps > 0 ? info.evalSteps : null,
    global_step: info.globalStep,
    is_hyper_param_search: false, is_local_process_zero: true, is_world_process_zero: true,
    log_history: history,
    logging_steps: 1,
    max_steps: info.maxSteps,
    num_train_epochs: info.numTrainEpochs,
    train_batch_size: info.trainBatchSize,
    trial_name: null, trial_params: null,
  };
}

/** Writes DIR/trainer_state.json (via a `.partial` file renamed into place). */
export async function writeTrainerState(outDir: string, state: Record<string, unknown>): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, 'trainer_state.json');
  const fh = await open(`${path}.partial`, 'w');
  try {
    await fh.write(`${JSON.stringify(state, null, 2)}\n`);
  } finally {
    await fh.close();
  }
  await rename(`${path}.partial`, path);
}

/**
 * The evaluation entries of an earlier attempt's DIR/trainer_state.json up to step `upTo` (a resumed run keeps
 * them; the training entries come back from the checkpoint). [] when the file is absent or unreadable.
 */
export async function earlierEvalEntries(outDir: string, upTo: number): Promise<LogHistoryEntry[]> {
  try {
    const json = JSON.parse(await (await openAsBlob(join(outDir, 'trainer_state.json'))).text()) as { log_history?: unknown };
    if (!Array.isArray(json.log_history)) return [];
    return json.log_history.filter((e): e is LogHistoryEntry => typeof e === 'object' && e !== null && typeof e.eval_loss === 'number' && typeof e.step === 'number' && e.step <= upTo);
  } catch {
    return [];
  }
}

/**
 * The preference metrics (rewards/*, logps/*) of the training steps ≤ `upTo` in an earlier attempt's
 * DIR/trainer_state.json, by step (a resumed stage-dpo run logs them again with the history of its checkpoint, which
 * keeps only loss, lr and grad_norm). An empty map when the file is absent or unreadable.
 */
export async function earlierStepMetrics(outDir: string, upTo: number): Promise<Map<number, Record<string, number>>> {
  const out = new Map<number, Record<string, number>>();
  try {
    const json = JSON.parse(await (await openAsBlob(join(outDir, 'trainer_state.json'))).text()) as { log_history?: unknown };
    if (!Array.isArray(json.log_history)) return out;
    for (const e of json.log_history as Record<string, unknown>[]) {
      if (typeof e !== 'object' || e === null || typeof e.loss !== 'number' || typeof e.step !== 'number' || e.step > upTo) continue;
      const m = Object.entries(e).filter(([k, v]) => (k.startsWith('rewards/') || k.startsWith('logps/')) && typeof v === 'number');
      if (m.length) out.set(e.step, Object.fromEntries(m) as Record<string, number>);
    }
  } catch {
    // no earlier state: the resumed steps are logged without their metrics
  }
  return out;
}
