/**
 * Exports of a full-parameter run (fullTraining.ts), in the engine worker, as zip downloads like the LoRA exports:
 * - the tuned Base W_B′: every tensor in F32 with the Base's config and tokenizer (engine/graft/tunedBase.ts, the
 *   CLI's DIR/tuned-base);
 * - the merged Instruct W_I + (W_B′ − W_B) in the Instruct's layout and dtype, one rounding per element
 *   (engine/graft/graftTuned.ts, the same code as "Graft a tuned Base" and `shadowft graft`; the CLI's DIR/merged).
 * The held-out loss the run reports for 'instruct+graft' is that of exactly these merged values (runFull.ts).
 */
import type { ModelFiles } from '../io/checkpoint';
import { openCheckpoint } from '../io/checkpoint';
import { safeFileName } from '../engine/graft/fileName';
import { planGraftTuned } from '../engine/graft/graftTuned';
import type { OutputFile } from '../engine/graft/mergedModel';
import { outputFolder, tunedBaseFiles } from '../engine/graft/tunedBase';
import { zipWithProgress } from './zipExport';
import type { ExportedZip } from './exports';
import type { TrainedFull } from './fullTraining';
import type { ExportProgress } from './progress';

/** Folder (and zip) name of the tuned-Base export, e.g. "stories260K-base-shadowft-tuned-base". */
export const tunedBaseFolderName = (t: TrainedFull): string => safeFileName(`${t.baseModel}-shadowft-tuned-base`);
/** Folder (and zip) name of the merged-Instruct export of a full run, e.g. "stories260K-instruct-shadowft-full-merged". */
export const fullMergedFolderName = (t: TrainedFull): string => safeFileName(`${t.instructModel}-shadowft-full-merged`);

/**
 * The files of the tuned Base (F32 shards + the Base's copied files).
 * @throws Error when `base` is not the run's Base (by folder name) or lacks a tensor of the run.
 */
async function tunedFiles(t: TrainedFull, base: ModelFiles, signal: AbortSignal): Promise<OutputFile[]> {
  if (base.name !== t.baseModel) throw new Error(`the full-parameter run was trained on ${t.baseModel} but the loaded Base is ${base.name}; load that pair again and retrain`);
  const ck = await openCheckpoint(base);
  const tensors = [...t.tensors].map(([name, values]) => {
    const loc = ck.tensors.get(name);
    if (!loc) throw new Error(`${base.name}: tensor ${name} of the tuned Base is missing from the Base checkpoint`);
    return { name, shape: loc.info.shape, read: async () => values };
  });
  return tunedBaseFiles(base, tensors, { signal });
}

/**
 * The tuned Base W_B′ (F32) as a zip.
 * @throws Error naming the model when the loaded Base is not the run's; the signal's reason when aborted.
 */
export async function exportTunedBaseZip(t: TrainedFull, base: ModelFiles, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<ExportedZip> {
  return zipWithProgress(await tunedFiles(t, base, signal), tunedBaseFolderName(t), onProgress, signal);
}

/**
 * The merged Instruct W_I + (W_B′ − W_B) (Instruct dtype, one rounding) as a zip.
 * @throws Error naming the model when the loaded pair is not the run's; GraftError for mismatched tensors; the
 *   signal's reason when aborted.
 */
export async function exportFullMergedZip(t: TrainedFull, base: ModelFiles, instruct: ModelFiles, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<ExportedZip> {
  if (instruct.name !== t.instructModel) throw new Error(`the full-parameter run belongs to ${t.instructModel} but the loaded Instruct is ${instruct.name}; load that pair again`);
  const tuned = await outputFolder(tunedBaseFolderName(t), await tunedFiles(t, base, signal));
  const plan = await planGraftTuned(base, tuned, instruct, { skipDerivationCheck: true, signal });
  return zipWithProgress(plan.files, fullMergedFolderName(t), onProgress, signal);
}
