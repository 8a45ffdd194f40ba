/**
 * Loading one model folder the way a drop does (the app's worker session and `shadowft inspect` share this code):
 * config.json normalised, the safetensors checkpoint opened with every header validated, the output head resolved
 * from what the files hold (io/head.ts, transformers `tie_weights` semantics), every tensor the config implies
 * checked for shape and dtype, and the chat template source found with transformers' precedence.
 */
import { openCheckpoint, type Checkpoint, type ModelFiles } from '../io/checkpoint';
import { readModelConfig, type ModelConfig } from '../io/config';
import { recognizeDrop, type RecognizedModel } from '../io/folder';
import { resolveLmHead, type LmHeadLayout } from '../io/head';
import { selectChatTemplate, type ChatTemplateSource } from '../io/tokenizer/template';
import { checkCheckpointShapes } from '../engine/model/expectedShapes';

/** A model with its config (tie_word_embeddings as the files hold it), opened checkpoint and what was noticed. */
export interface LoadedModel {
  readonly model: RecognizedModel;
  /** config.json normalised, with tieWordEmbeddings = (lmHead === 'tied'). */
  readonly config: ModelConfig;
  readonly checkpoint: Checkpoint;
  readonly lmHead: LmHeadLayout;
  /** Where the chat template comes from, or null (no template, or tokenizer files absent). */
  readonly chatTemplateSource: ChatTemplateSource | null;
  /** Warnings naming the model (head layout vs config.json, unreadable template…). */
  readonly warnings: readonly string[];
}

/**
 * Loads and validates a recognised model folder.
 * @throws ConfigError / UnsupportedModelError (config.json), CheckpointError / SafetensorsError (weights),
 *   WeightShapeError (a tensor contradicting config.json); each names the model and the file or tensor.
 */
export async function loadModel(m: RecognizedModel): Promise<LoadedModel> {
  const name = m.files.name;
  const cfgBlob = m.files.files.get('config.json');
  if (!cfgBlob) throw new Error(`${name}: config.json is missing`);
  const said = await readModelConfig(cfgBlob, `${name}/config.json`);
  const checkpoint = await openCheckpoint(m.files);
  const head = await resolveLmHead(said, checkpoint);
  checkCheckpointShapes(head.config, checkpoint);
  const warnings = [...head.warnings];
  let chatTemplateSource: ChatTemplateSource | null = null;
  try {
    chatTemplateSource = (await selectChatTemplate(m.files.files, name))?.source ?? null;
  } catch (e) {
    warnings.push((e as Error).message);
  }
  return { model: m, config: head.config, checkpoint, lmHead: head.layout, chatTemplateSource, warnings };
}

/** A folder given on the command line is not a model folder; the message is the drop's reason. */
export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

/**
 * Recognises and loads one model folder exactly as dropping it in the app does (io/folder.ts recognizeDrop, then
 * {@link loadModel}).
 * @param files the folder's files (e.g. node/files.ts modelFilesFromDir); `files.name` is the folder name.
 * @throws ModelFolderError with the drop's reason when the folder is not a usable model folder (no config.json,
 *   a shard missing, no weights…), and everything {@link loadModel} throws.
 */
export async function loadModelFolder(files: ModelFiles): Promise<LoadedModel> {
  const drop = await recognizeDrop([...files.files].map(([path, file]) => ({ path: `${files.name}/${path}`, file })));
  const m = drop.models.find((x) => x.folder === files.name);
  if (m) return loadModel(m);
  const why = drop.rejectedModels.find((r) => r.folder === files.name)?.reason ?? 'no config.json in this folder';
  throw new ModelFolderError(`${files.name}: not a model folder: ${why}`);
}
