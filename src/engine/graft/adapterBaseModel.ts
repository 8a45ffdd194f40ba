/**
 * What an exported adapter names as `base_model_name_or_path` (PEFT `config.py` PeftConfig): the model
 * `AutoPeftModelForCausalLM.from_pretrained(adapter_dir)` loads before applying the adapter — in Shadow-FT the
 * Instruct. PEFT passes it to transformers as is: a Hub id loads from any working directory, an absolute path too, a
 * bare folder name only from the folder's parent (elsewhere it is looked up on the Hub and fails). So, in order:
 * 1. the id or path the user gave (CLI `--base-model-name-or-path`, the export panel's field);
 * 2. the Instruct's own Hub id when its folder says it: config.json `_name_or_path` when it has the `org/name` form
 *    (transformers writes the id the model was loaded from there on `save_pretrained`), or a Hugging Face cache path
 *    `…/models--ORG--NAME/snapshots/REV` (huggingface_hub's cache layout);
 * 3. the Instruct folder's absolute path (the CLI knows it);
 * 4. the folder name (the browser knows nothing else); {@link isBareFolderName} tells the caller to say so.
 * A model card's `base_model` is not used: on an Instruct's card it names the model the Instruct was tuned from.
 */
import type { ModelFiles } from '../../io/checkpoint';

/** A Hugging Face Hub model id, `org/name` (huggingface_hub `validate_repo_id`: letters, digits, `-_.`). */
const HUB_ID_RE = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
/** huggingface_hub's cache folder of a model snapshot. */
const HF_CACHE_RE = /(?:^|[/\\])models--([^/\\]+?)--([^/\\]+)[/\\]snapshots[/\\][^/\\]+[/\\]?$/;

/** True for `org/name` (not `./x`, `../x`, `/abs` or `a/b/c`). */
export function isHubId(s: string): boolean {
  return HUB_ID_RE.test(s) && !s.split('/').some((p) => p === '.' || p === '..');
}

/** The Hub id in a huggingface_hub cache path (`…/models--ORG--NAME/snapshots/REV`), else null. */
export function hubIdFromCachePath(path: string): string | null {
  const m = HF_CACHE_RE.exec(path);
  return m ? `${m[1]}/${m[2]}` : null;
}

/** config.json `_name_or_path` when it is a Hub id, else null (no config, not JSON, a local path). */
export async function hubIdFromConfig(model: ModelFiles): Promise<string | null> {
  const blob = model.files.get('config.json');
  if (!blob) return null;
  try {
    const v = (JSON.parse(await blob.text()) as { _name_or_path?: unknown })._name_or_path;
    return typeof v === 'string' && isHubId(v) ? v : null;
  } catch {
    return null;
  }
}

/** Where {@link adapterBaseModel}'s answer came from. */
export type AdapterBaseModelSource = 'given' | 'config' | 'cache-path' | 'path' | 'folder-name';

/**
 * base_model_name_or_path for an adapter applied to `instruct` (see the file comment for the order).
 * @param opts.given the user's id or path (blank = not given).
 * @param opts.path the Instruct folder's absolute path, when known (CLI).
 */
export async function adapterBaseModel(instruct: ModelFiles, opts: { readonly given?: string; readonly path?: string } = {}): Promise<{ readonly value: string; readonly source: AdapterBaseModelSource }> {
  const given = opts.given?.trim();
  if (given) return { value: given, source: 'given' };
  const fromConfig = await hubIdFromConfig(instruct);
  if (fromConfig) return { value: fromConfig, source: 'config' };
  if (opts.path) {
    const fromCache = hubIdFromCachePath(opts.path);
    if (fromCache) return { value: fromCache, source: 'cache-path' };
    return { value: opts.path, source: 'path' };
  }
  return { value: instruct.name, source: 'folder-name' };
}

/** True when `s` is a bare folder name (no Hub id, no path): PEFT then finds the model only from the folder's parent. */
export function isBareFolderName(s: string): boolean {
  return !s.includes('/') && !s.includes('\\');
}
