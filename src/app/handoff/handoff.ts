/**
 * "Export for a cluster": the files that run the studio's recipe on LLaMA-Factory and graft the result (see
 * recipe.ts, sharegpt.ts, readme.ts). Used by the CLI (`shadowft handoff`, written to a folder) and the app (a zip).
 * Chat template: LLaMA-Factory's `template` is written only when the user names a registered template; otherwise it
 * is left out and LLaMA-Factory parses the tokenizer's chat template. The Shadow-FT run must use the Instruct's
 * template, so when the Base's tokenizer lacks it (or has another one) prepare_base.sh builds a Base folder with the
 * Instruct's tokenizer files and train_shadow_base.yaml points there.
 */
import { stringify } from 'yaml';
import { openCheckpoint, type ModelFiles } from '../../io/checkpoint';
import { isWeightDType, type WeightDType } from '../../io/dtype';
import type { Conversation, PreferencePair } from '../../io/dataset/types';
import { warmupSteps } from '../../engine/train/schedule';
import type { TrainSettings } from '../../engine/train/types';
import { prepareBaseScript, readmeText } from './readme';
import { conventionalOutputDir, HandoffError, HELDOUT_DATASET, mergekitOptions, mergekitRecipe, shadowOutputDir, totalSteps, trainRecipe, TRAIN_DATASET } from './recipe';
import { datasetInfoEntry, shareGptJson } from './sharegpt';
import { rankingInfoEntry, rankingJson } from './ranking';

export { HandoffError } from './recipe';

/** One file of the export (relative path, UTF-8 text). */
export interface HandoffFile {
  readonly name: string;
  readonly text: string;
}

/** Inputs of {@link buildHandoff}. */
export interface HandoffInput {
  readonly base: ModelFiles;
  readonly instruct: ModelFiles;
  /** How the YAMLs refer to the models (CLI: absolute paths; app: the folder names, edited by the user). */
  readonly basePath: string;
  readonly instructPath: string;
  readonly train: readonly Conversation[];
  readonly heldout: readonly Conversation[] | null;
  /** Stage dpo (settings.stage): the preference pairs written instead of `train`/`heldout` (ranking dataset). */
  readonly trainPairs?: readonly PreferencePair[];
  readonly heldoutPairs?: readonly PreferencePair[] | null;
  readonly settings: TrainSettings;
  readonly finetuningType: 'lora' | 'full';
  /** A registered LLaMA-Factory template name (the user's choice); undefined leaves `template` out. */
  readonly template?: string;
  readonly deepspeed?: string;
  /** Absolute export folder for the README's `cd` (CLI). */
  readonly exportDir?: string;
  /** basePath / instructPath are only the dropped folders' names (the app's default): the README says where to set them. */
  readonly bareModelNames?: boolean;
}

/** The Instruct's stored dtype: that of its first floating-point tensor. @throws HandoffError when none. */
async function weightDtype(m: ModelFiles): Promise<WeightDType> {
  const ck = await openCheckpoint(m);
  for (const loc of ck.tensors.values()) if (isWeightDType(loc.info.dtype)) return loc.info.dtype;
  throw new HandoffError(`${m.name}: no F32/BF16/F16 tensor found`);
}

/** The chat template of a model folder (chat_template.jinja, else tokenizer_config.json chat_template), or null. */
export async function chatTemplateOf(m: ModelFiles): Promise<string | null> {
  const jinja = m.files.get('chat_template.jinja');
  if (jinja) return jinja.text();
  const cfg = m.files.get('tokenizer_config.json');
  if (!cfg) return null;
  let t: unknown;
  try {
    t = (JSON.parse(await cfg.text()) as { chat_template?: unknown }).chat_template;
  } catch (e) {
    throw new HandoffError(`${m.name}/tokenizer_config.json is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const d = t.find((x: unknown) => typeof x === 'object' && x !== null && (x as { name?: unknown }).name === 'default') as { template?: unknown } | undefined;
    if (typeof d?.template === 'string') return d.template;
  }
  return null;
}

/** model_type of config.json. @throws HandoffError when missing. */
async function modelType(m: ModelFiles): Promise<string> {
  const blob = m.files.get('config.json');
  if (!blob) throw new HandoffError(`${m.name}: config.json is missing`);
  const t = (JSON.parse(await blob.text()) as { model_type?: unknown }).model_type;
  if (typeof t !== 'string') throw new HandoffError(`${m.name}/config.json has no model_type`);
  return t;
}

/**
 * Rewrites plain scalars in exponent form (`1e-8`, `2.5e+21`) as `1.0e-8`, `2.5e+21`: PyYAML (YAML 1.1, which
 * LLaMA-Factory's `yaml.safe_load` uses) reads a float only with a dot in the mantissa and a signed exponent, and
 * would otherwise pass the string "1e-8" on to the trainer.
 */
export function pyyamlFloats(text: string): string {
  return text.replace(/^(\s*(?:- )?[A-Za-z_][\w]*: )(-?\d+)(\.\d+)?e([+-]?)(\d+)$/gm, (_m, key: string, int: string, frac: string | undefined, sign: string, exp: string) => `${key}${int}${frac ?? '.0'}e${sign || '+'}${exp}`);
}

/** Folder prepare_base.sh creates inside the export. */
export const PREPARED_BASE_DIR = 'base_with_instruct_template';

/**
 * Builds every file of the export.
 * @returns train_shadow_base.yaml, train_conventional_instruct.yaml, graft_mergekit.yaml, data/dataset_info.json,
 *   data/train.json (+ data/heldout.json), README.md (+ prepare_base.sh when the Base lacks the Instruct's template).
 * @throws HandoffError when the Instruct has no chat template and no template is named, for an unregistered
 *   template, Base/Instruct of different model types, or an empty training set.
 */
export async function buildHandoff(input: HandoffInput): Promise<HandoffFile[]> {
  const dpo = input.settings.stage === 'dpo';
  if (dpo && !input.trainPairs?.length) throw new HandoffError('stage dpo: the training set has no preference pairs');
  if (!dpo && input.train.length === 0) throw new HandoffError('the training set is empty');
  const numTrain = dpo ? (input.trainPairs?.length ?? 0) : input.train.length;
  const heldPairs = input.heldoutPairs ?? [];
  const [tb, ti] = await Promise.all([modelType(input.base), modelType(input.instruct)]);
  if (tb !== ti) throw new HandoffError(`${input.base.name} is model_type ${tb} but ${input.instruct.name} is ${ti}: not a Base/Instruct pair`);
  const instructTpl = await chatTemplateOf(input.instruct);
  if (instructTpl === null && input.template === undefined) {
    throw new HandoffError(`${input.instruct.name} has no chat template (tokenizer_config.json chat_template or chat_template.jinja); LLaMA-Factory would fall back to its "empty" template. Name a registered LLaMA-Factory template that renders like the Instruct's (--template NAME)`);
  }
  const baseTpl = await chatTemplateOf(input.base);
  const prepareBase = input.template === undefined && baseTpl !== instructTpl;
  const dtype = await weightDtype(input.instruct);
  const t = input.finetuningType;
  const common = {
    baseModel: prepareBase ? PREPARED_BASE_DIR : input.basePath,
    instructModel: input.instructPath,
    baseForMerge: input.basePath,
    settings: input.settings,
    finetuningType: t,
    numTrainExamples: numTrain,
    hasHeldout: dpo ? heldPairs.length > 0 : input.heldout !== null && input.heldout.length > 0,
    dtype,
    ...(input.template !== undefined ? { template: input.template } : {}),
    ...(input.deepspeed !== undefined ? { deepspeed: input.deepspeed } : {}),
  };
  const yaml = (header: string, obj: Record<string, unknown>): string => `# ${header}\n${pyyamlFloats(stringify(obj, { lineWidth: 0 }))}`;
  const info: Record<string, unknown> = { [TRAIN_DATASET]: dpo ? rankingInfoEntry('train.json', input.trainPairs ?? []) : datasetInfoEntry('train.json', input.train) };
  const what = dpo ? `${t} DPO (pref_loss ${input.settings.prefLoss ?? 'sigmoid'}, pref_beta ${input.settings.prefBeta ?? 0.1})` : `${t} SFT`;
  const files: HandoffFile[] = [
    { name: 'train_shadow_base.yaml', text: yaml(`Shadow-${dpo ? 'DPO' : 'FT'}: ${what} of the Base with the Instruct's chat template (llamafactory-cli train train_shadow_base.yaml)`, trainRecipe(common, 'shadow')) },
    { name: 'train_conventional_instruct.yaml', text: yaml(`Conventional: the same ${what} on the Instruct (for the comparison)`, trainRecipe(common, 'conventional')) },
    { name: 'graft_mergekit.yaml', text: yaml(`W_I + (W_B′ − W_B): mergekit-yaml graft_mergekit.yaml OUT${mergekitOptions(t) ? ` ${mergekitOptions(t)}` : ''} (from this folder, after the ${t} run)`, mergekitRecipe(common, shadowOutputDir(t), t)) },
    { name: 'data/train.json', text: dpo ? rankingJson(input.trainPairs ?? []) : shareGptJson(input.train) },
  ];
  if (common.hasHeldout) {
    info[HELDOUT_DATASET] = dpo ? rankingInfoEntry('heldout.json', heldPairs) : datasetInfoEntry('heldout.json', input.heldout ?? []);
    files.push({ name: 'data/heldout.json', text: dpo ? rankingJson(heldPairs) : shareGptJson(input.heldout ?? []) });
  }
  files.push({ name: 'data/dataset_info.json', text: JSON.stringify(info, null, 2) + '\n' });
  if (prepareBase) files.push({ name: 'prepare_base.sh', text: prepareBaseScript(input.basePath, input.instructPath, PREPARED_BASE_DIR) });
  const total = totalSteps(input.settings, numTrain);
  files.push({
    name: 'README.md',
    text: readmeText({
      baseModel: input.basePath,
      instructModel: input.instructPath,
      finetuningType: t,
      prepareBase,
      preparedBaseDir: PREPARED_BASE_DIR,
      shadowOutput: shadowOutputDir(t),
      conventionalOutput: conventionalOutputDir(t),
      hasHeldout: common.hasHeldout,
      template: input.template,
      numTrain,
      numHeldout: dpo ? heldPairs.length : (input.heldout?.length ?? 0),
      totalSteps: total,
      warmupSteps: warmupSteps(total, input.settings.warmupRatio),
      gradAccum: input.settings.gradAccum,
      ...(input.exportDir !== undefined ? { exportDir: input.exportDir } : {}),
      ...(input.bareModelNames ? { bareModelNames: true } : {}),
    }),
  });
  return files;
}
