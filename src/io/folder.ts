/**
 * Recognises what the user dropped (folders via drag-and-drop or a folder picker's webkitRelativePath, or loose
 * files): model folders, dataset files, and files ignored with a reason. Files are grouped by their directory; a
 * directory is a model folder when it holds config.json and weights (model.safetensors, or
 * model.safetensors.index.json with every shard it names, or exactly one other *.safetensors). tokenizer.json +
 * tokenizer_config.json are needed to tokenise (the Instruct model's); their presence is reported, not required,
 * so a Base folder without them is still a model.
 */
import type { ModelFiles } from './checkpoint';
import { datasetFormatOf, datasetSplitOf, type DatasetFileFormat, type DatasetSplit } from './dataset/parse';

/** One dropped file: its path relative to the drop (top folder included, e.g. "stories260K-base/config.json"). */
export interface DroppedFile {
  readonly path: string;
  readonly file: Blob;
}

/** A recognised model folder. */
export interface RecognizedModel {
  readonly files: ModelFiles;
  /** Folder path inside the drop ("" for loose files), e.g. "models/stories260K-base". */
  readonly folder: string;
  /** tokenizer.json and tokenizer_config.json are both present. */
  readonly hasTokenizer: boolean;
  /** A chat template is present (tokenizer_config.json "chat_template", chat_template.jinja or chat_template.json). */
  readonly hasChatTemplate: boolean;
}

/** A dataset candidate (parsed later with src/io/dataset/parse.ts). */
export interface RecognizedDataset {
  readonly path: string;
  /** File name without folders, used as the dataset's label in errors. */
  readonly name: string;
  readonly file: Blob;
  readonly format: DatasetFileFormat;
  readonly split: DatasetSplit;
}

/** A file that is neither part of a model folder nor a dataset. */
export interface IgnoredFile {
  readonly path: string;
  readonly reason: string;
}

/** A folder with a config.json that is not a usable model folder (e.g. a shard is missing), and why. */
export interface RejectedModel {
  /** Folder path inside the drop ("" for loose files). */
  readonly folder: string;
  readonly reason: string;
}

/** Everything recognised in one drop. */
export interface DropContents {
  readonly models: readonly RecognizedModel[];
  /** Folders that look like models (config.json) but cannot be used; their files are also in `ignored`. */
  readonly rejectedModels: readonly RejectedModel[];
  readonly datasets: readonly RecognizedDataset[];
  readonly ignored: readonly IgnoredFile[];
}

/** JSON files that belong to HF model/tokenizer folders, never datasets. */
const MODEL_JSON = new Set([
  'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
  'added_tokens.json', 'vocab.json', 'model.safetensors.index.json', 'chat_template.json', 'preprocessor_config.json',
  'adapter_config.json', 'trainer_state.json', 'training_args.json',
]);

/** Normalises a dropped path: forward slashes, no leading "./" or "/". */
function cleanPath(p: string): string {
  return p.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
}

function splitPath(p: string): { dir: string; base: string } {
  const i = p.lastIndexOf('/');
  return i < 0 ? { dir: '', base: p } : { dir: p.slice(0, i), base: p.slice(i + 1) };
}

async function readJson(blob: Blob): Promise<unknown> {
  try {
    return JSON.parse(await blob.text());
  } catch {
    return undefined;
  }
}

/** Why a directory's files are not a model, or null when they are. Reads model.safetensors.index.json if present. */
async function whyNotModel(files: ReadonlyMap<string, Blob>): Promise<string | null> {
  if (!files.has('config.json')) return 'no config.json in this folder';
  const index = files.get('model.safetensors.index.json');
  if (index) {
    const json = await readJson(index);
    const map = typeof json === 'object' && json !== null ? (json as { weight_map?: unknown }).weight_map : undefined;
    if (typeof map !== 'object' || map === null) return 'model.safetensors.index.json is not valid (no weight_map)';
    const missing = [...new Set(Object.values(map as Record<string, unknown>).map(String))].filter((s) => !files.has(s));
    return missing.length ? `shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} named in model.safetensors.index.json missing` : null;
  }
  if (files.has('model.safetensors')) return null;
  const st = [...files.keys()].filter((k) => k.endsWith('.safetensors') && !k.startsWith('adapter_'));
  if (st.length === 1) return null;
  if (st.length > 1) return `several .safetensors files (${st.join(', ')}) and no model.safetensors.index.json`;
  if (files.has('adapter_model.safetensors')) return 'a PEFT adapter folder, not a model';
  return 'config.json but no model.safetensors';
}

async function chatTemplatePresent(files: ReadonlyMap<string, Blob>): Promise<boolean> {
  if (files.has('chat_template.jinja') || files.has('chat_template.json')) return true;
  const cfg = files.get('tokenizer_config.json');
  const json = cfg ? await readJson(cfg) : undefined;
  const t = typeof json === 'object' && json !== null ? (json as { chat_template?: unknown }).chat_template : undefined;
  return (typeof t === 'string' && t.length > 0) || (Array.isArray(t) && t.length > 0);
}

/**
 * Sorts dropped files into model folders, datasets and ignored files (each with a reason).
 * Model files are keyed by name inside their folder (ModelFiles.files, direct children only); the model is named
 * after its folder ("model" for loose files). Dataset candidates are .json/.jsonl/.csv files outside model folders
 * whose name is not an HF model file, plus .jsonl/.csv files inside model folders (a model folder's .json files are
 * taken as model files); their split comes from the name ({@link datasetSplitOf}).
 * Never throws for bad content: unreadable index files make the folder "ignored" with the reason.
 */
export async function recognizeDrop(dropped: readonly DroppedFile[]): Promise<DropContents> {
  const byDir = new Map<string, Map<string, Blob>>();
  const ignored: IgnoredFile[] = [];
  for (const { path, file } of dropped) {
    const p = cleanPath(path);
    const { dir, base } = splitPath(p);
    if (base.startsWith('.') || dir.split('/').some((d) => d.startsWith('.'))) {
      ignored.push({ path: p, reason: 'hidden file' });
      continue;
    }
    let group = byDir.get(dir);
    if (!group) byDir.set(dir, (group = new Map()));
    group.set(base, file);
  }
  const models: RecognizedModel[] = [];
  const rejectedModels: RejectedModel[] = [];
  const datasets: RecognizedDataset[] = [];
  for (const [dir, files] of byDir) {
    const notModel = await whyNotModel(files);
    if (notModel === null) {
      const name = splitPath(dir).base || 'model';
      // .jsonl/.csv/.parquet next to the weights are datasets (e.g. loose files); .json files stay with the model.
      const modelFiles = new Map<string, Blob>();
      for (const [base, file] of files) {
        const format = datasetFormatOf(base);
        if (format === 'jsonl' || format === 'csv' || format === 'parquet') datasets.push({ path: dir ? `${dir}/${base}` : base, name: base, file, format, split: datasetSplitOf(base) });
        else modelFiles.set(base, file);
      }
      models.push({
        files: { name, files: modelFiles },
        folder: dir,
        hasTokenizer: files.has('tokenizer.json') && files.has('tokenizer_config.json'),
        hasChatTemplate: await chatTemplatePresent(files),
      });
      continue;
    }
    if (files.has('config.json')) rejectedModels.push({ folder: dir, reason: notModel });
    for (const [base, file] of files) {
      const path = dir ? `${dir}/${base}` : base;
      const format = datasetFormatOf(base);
      if (format && !MODEL_JSON.has(base)) datasets.push({ path, name: base, file, format, split: datasetSplitOf(base) });
      else if (format || base.endsWith('.safetensors') || base.endsWith('.jinja')) ignored.push({ path, reason: `not a model folder: ${notModel}` });
      else ignored.push({ path, reason: 'not a model file or a dataset (.json, .jsonl, .csv, .parquet)' });
    }
  }
  return { models, rejectedModels, datasets, ignored };
}
