/**
 * A folder of output files (engine/graft OutputFile: streamed parts) zipped for download with per-file byte progress
 * and cancellation between parts — the one zip path of the graft, tuned-Base and full-merged exports.
 */
import type { OutputFile } from '../engine/graft/mergedModel';
import { zipOutputFiles } from '../engine/graft/zip';
import type { ExportedZip } from './exports';
import type { ExportProgress } from './progress';

/**
 * Zips `files` under `folder/` as `folder.zip`, reporting the bytes of each file as they stream.
 * @throws the signal's reason when cancelled; whatever a file's parts throw (e.g. a GraftError naming the tensor)
 */
export async function zipWithProgress(files: readonly OutputFile[], folder: string, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<ExportedZip> {
  const counted = files.map((f) => ({
    ...f,
    parts: async function* () {
      let done = 0;
      for await (const p of f.parts()) {
        signal.throwIfAborted();
        done += p.byteLength;
        onProgress({ status: 'export', file: f.name, bytesDone: done, bytesTotal: f.size });
        yield p;
      }
    },
  }));
  const blob = await zipOutputFiles(counted, { folder }).blob();
  signal.throwIfAborted();
  return { fileName: `${folder}.zip`, blob };
}
