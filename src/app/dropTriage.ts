/**
 * A folder that holds model weights (.safetensors) but is not a usable model folder (no config.json, …) is a model
 * folder the user got wrong, not a dataset folder: its .json files (e.g. a settings.json) are not training rows.
 * {@link triageWeightFolders} moves them to the ignored files and reports the folder as "not a model folder" with the
 * reason (issue 20, fault 8: such a settings.json became a ticked training row marked "error").
 */
import type { DropContents, IgnoredFile, RejectedModel } from '../io/folder';

const NOT_MODEL = 'not a model folder: ';

/** The folder part of a drop path ("" for a loose file). */
const dirOf = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

/**
 * The drop with the .json "datasets" of weight folders that are not models moved to `ignored`, and each such
 * folder (without a config.json of its own, so not already in `rejectedModels`) added to `rejectedModels`.
 */
export function triageWeightFolders(drop: DropContents): DropContents {
  const reasons = new Map<string, string>();
  for (const f of drop.ignored) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    // A PEFT adapter folder (adapter_model.safetensors) is loaded elsewhere ("Load adapter"), not reported here.
    if (name.endsWith('.safetensors') && !name.startsWith('adapter_') && f.reason.startsWith(NOT_MODEL)) reasons.set(dirOf(f.path), f.reason.slice(NOT_MODEL.length));
  }
  if (reasons.size === 0) return drop;
  const moved: IgnoredFile[] = [];
  const datasets = drop.datasets.filter((d) => {
    const reason = d.format === 'json' ? reasons.get(dirOf(d.path)) : undefined;
    if (reason === undefined) return true;
    moved.push({ path: d.path, reason: NOT_MODEL + reason });
    return false;
  });
  const known = new Set(drop.rejectedModels.map((r) => r.folder));
  const rejected: RejectedModel[] = [...reasons].filter(([dir]) => !known.has(dir)).map(([folder, reason]) => ({ folder, reason: `not a model folder: ${reason}` }));
  return { ...drop, datasets, ignored: [...drop.ignored, ...moved], rejectedModels: [...drop.rejectedModels, ...rejected] };
}
