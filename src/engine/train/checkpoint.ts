/**
 * A resumable training state (TrainCheckpoint): what a run needs to continue exactly where it stopped, and the
 * identities that keep it from being loaded into another run.
 *
 * Why step + settings suffice for the data order and the random state: nothing in a run draws from a stream that
 * advances with the run. The optimizer-step plan (run.ts planSteps) is a pure function of the tokenised examples
 * and the settings (shuffle seed = settings.seed + epoch, io/dataset/batches.ts); the LoRA init stream (mulberry32
 * from the seed) is used once, before step 1, and its result is in the checkpoint's lora_A/lora_B; the dropout masks
 * are counter-based (pcgHash of seed, step, micro-batch index; step.ts); the schedule is a function of the 0-based
 * step and the total (schedule.ts); AdamW's bias correction uses the 1-based step count. So "steps done" plus the
 * settings, the data identity and the tensors (LoRA A/B, AdamW exp_avg / exp_avg_sq) are the whole state.
 */
import pkg from '../../../package.json';
import type { LoraModuleWeights } from '../model/loraTypes';
import type { EvalModel, TrainSettings } from './types';

/** The `format` of every checkpoint this studio writes. */
export const CHECKPOINT_FORMAT = 'shadowft-train-checkpoint';
/** Bumped when the layout of the state changes; other versions are refused. */
export const CHECKPOINT_VERSION = 1;
/** The studio's version (package.json), written into checkpoints; a checkpoint of another version is refused. */
export const APP_VERSION: string = (pkg as { version: string }).version;

/** One optimizer step of the loss history. */
export interface LossPoint {
  /** 1-based step */
  readonly step: number;
  /** mean token NLL of the step (nats) */
  readonly loss: number;
  /** learning rate used by the step */
  readonly lr: number;
  /** global gradient L2 norm before clipping */
  readonly gradNorm: number;
}

/** A held-out evaluation done so far. */
export interface EvalResult {
  readonly model: EvalModel;
  readonly when: 'before' | 'after';
  /** nats per label token */
  readonly loss: number;
}

/** A held-out loss of Base + LoRA after `step` optimizer steps (evaluation during training). */
export interface EvalPoint {
  readonly step: number;
  /** nats per label token */
  readonly loss: number;
}

/** The state of a run after `step` optimizer steps (all tensors f32, keyed by HF module path). */
export interface TrainCheckpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: typeof CHECKPOINT_VERSION;
  readonly appVersion: string;
  /** content id of the trained (Base) checkpoint, from the caller (io/contentId.ts checkpointContentId) */
  readonly modelId: string;
  /** display name of the trained model (not compared) */
  readonly modelName: string;
  /** {@link dataIdentity} of the tokenised training examples */
  readonly dataId: string;
  /** the run's settings, compared field by field on resume */
  readonly settings: TrainSettings;
  /** optimizer steps done (0 ≤ step ≤ totalSteps) */
  readonly step: number;
  readonly totalSteps: number;
  /** one point per step done, in order */
  readonly history: readonly LossPoint[];
  readonly evals: readonly EvalResult[];
  /**
   * Held-out losses of Base + LoRA measured during training (TrainSettings.evalSteps), at steps ≤ `step`, in order;
   * absent in checkpoints written before they were kept (read as none).
   */
  readonly evalPoints?: readonly EvalPoint[];
  /** lora_A [R, in] / lora_B [out, R] */
  readonly params: ReadonlyMap<string, LoraModuleWeights>;
  /** AdamW exp_avg of the same layout */
  readonly m: ReadonlyMap<string, LoraModuleWeights>;
  /** AdamW exp_avg_sq of the same layout */
  readonly v: ReadonlyMap<string, LoraModuleWeights>;
  /** ISO time of the capture */
  readonly savedAt: string;
  /**
   * Stage dpo: the reference log-probs (model with the adapter off) of the training pairs, in the order of the
   * tokenised pairs, f64 [N] each, NaN for a pair the step plan never uses (--max-steps); computed once before step 1
   * and kept so a resumed run uses the very same values.
   */
  readonly reference?: { readonly chosen: Float64Array; readonly rejected: Float64Array };
  /**
   * finetuning_type full (train/runFull.ts): the f32 masters W_B′ and AdamW exp_avg / exp_avg_sq of every TRAINABLE
   * tensor of the table, by HF name, shaped as the tensor (a frozen embedding is not kept: it is the Base's own). 12
   * bytes per trainable parameter. The LoRA maps `params`, `m`, `v` are then empty.
   */
  readonly full?: FullState;
  /**
   * Stage dpo: the held-out log-probs of the untrained Base and (once measured) Instruct, per held-out pair, f64 [N]
   * each: the reference of every held-out metric, kept so a resumed run does not compute them again.
   */
  readonly heldoutReference?: {
    readonly base?: { readonly chosen: Float64Array; readonly rejected: Float64Array };
    readonly instruct?: { readonly chosen: Float64Array; readonly rejected: Float64Array };
  };
}

/** The f32 tensors of a full-parameter state, by HF name (e.g. model.layers.0.self_attn.q_proj.weight). */
export interface FullState {
  /** each tensor's shape (its table shape, e.g. [out, in] of a linear) */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly m: ReadonlyMap<string, Float32Array>;
  readonly v: ReadonlyMap<string, Float32Array>;
}

/** Bytes a full-parameter checkpoint holds per trainable parameter: f32 master + AdamW m + v. */
export const FULL_CHECKPOINT_BYTES_PER_PARAM = 12;

/** What a run expects of a checkpoint it resumes from. */
export interface CheckpointExpectation {
  readonly appVersion: string;
  readonly modelId: string;
  readonly dataId: string;
  readonly settings: TrainSettings;
  readonly totalSteps: number;
}

/**
 * Thrown when a checkpoint belongs to another run: `field` names what differs (e.g. "settings.learningRate",
 * "model", "training data", "app version"), with the checkpoint's value and this run's.
 */
export class CheckpointMismatchError extends Error {
  override name = 'CheckpointMismatchError';
  constructor(
    readonly field: string,
    readonly checkpointValue: string,
    readonly expectedValue: string,
  ) {
    super(`this checkpoint is from another run: ${field} differs (checkpoint: ${checkpointValue}; this run: ${expectedValue}); start a new run or use the matching ${field === 'app version' ? 'studio version' : field}`);
  }
}

/** Lowercase hex of bytes. */
function hex(b: ArrayBuffer): string {
  return [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * Identity of tokenised training data: SHA-256 over the SHA-256 of each example's input_ids ‖ labels (int32
 * little-endian, the example's own length), in order, then the example count. Any change of a token, a label, the
 * order or the number of examples changes it. Memory stays bounded (one example at a time).
 * @returns "sha256:<hex>"
 */
export async function dataIdentity(examples: readonly { readonly inputIds: Int32Array; readonly labels: Int32Array }[]): Promise<string> {
  const digests = new Uint8Array(32 * examples.length + 4);
  for (const [i, e] of examples.entries()) {
    const bytes = new Uint8Array(8 * e.inputIds.length + 4);
    new DataView(bytes.buffer).setUint32(0, e.inputIds.length, true);
    bytes.set(new Uint8Array(e.inputIds.buffer, e.inputIds.byteOffset, e.inputIds.byteLength), 4);
    bytes.set(new Uint8Array(e.labels.buffer, e.labels.byteOffset, e.labels.byteLength), 4 + 4 * e.inputIds.length);
    digests.set(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), 32 * i);
  }
  new DataView(digests.buffer).setUint32(32 * examples.length, examples.length, true);
  return `sha256:${hex(await crypto.subtle.digest('SHA-256', digests))}`;
}

/** Flattens settings into "settings.a.b" → JSON text of the value (arrays kept whole), sorted by name. */
export function flattenSettings(s: TrainSettings): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (v: unknown, name: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const k of Object.keys(v as object).sort()) walk((v as Record<string, unknown>)[k], `${name}.${k}`);
    } else out.set(name, v === undefined ? 'absent' : JSON.stringify(v));
  };
  walk(s, 'settings');
  return out;
}

/**
 * Refuses a checkpoint that is not a state of the expected run, naming the first field that differs.
 * Checked in order: app version, model, every settings field, total steps, training data (settings first: a changed
 * Max length or template option also changes the tokens, and the setting is the more useful name).
 * `settings.chatTemplateKwargs` absent and {} are the same; so are an absent stage and 'sft', an absent finetuningType
 * and 'lora', an absent trainEmbeddings and true (full runs), and absent pref_* fields
 * and their defaults (β 0.1, sigmoid, ftx 0) in stage dpo.
 * @throws CheckpointMismatchError (field, checkpoint value, this run's value).
 */
export function assertCompatible(ckpt: TrainCheckpoint, expected: CheckpointExpectation): void {
  if (ckpt.appVersion !== expected.appVersion) throw new CheckpointMismatchError('app version', ckpt.appVersion, expected.appVersion);
  if (ckpt.modelId !== expected.modelId) throw new CheckpointMismatchError('model', ckpt.modelId, expected.modelId);
  const norm = (s: TrainSettings): TrainSettings => ({ ...s, chatTemplateKwargs: s.chatTemplateKwargs ?? {}, stage: s.stage ?? 'sft', finetuningType: s.finetuningType ?? 'lora', ...(s.finetuningType === 'full' ? { trainEmbeddings: s.trainEmbeddings ?? true } : {}), ...(s.stage === 'dpo' ? { prefBeta: s.prefBeta ?? 0.1, prefLoss: s.prefLoss ?? 'sigmoid', prefFtx: s.prefFtx ?? 0 } : {}) });
  const a = flattenSettings(norm(ckpt.settings));
  const b = flattenSettings(norm(expected.settings));
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(name) ?? 'absent';
    const y = b.get(name) ?? 'absent';
    if (x !== y) throw new CheckpointMismatchError(name, x, y);
  }
  if (ckpt.totalSteps !== expected.totalSteps) throw new CheckpointMismatchError('total steps', String(ckpt.totalSteps), String(expected.totalSteps));
  if (ckpt.dataId !== expected.dataId) throw new CheckpointMismatchError('training data', ckpt.dataId, expected.dataId);
}
