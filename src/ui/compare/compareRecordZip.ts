/**
 * A comparison of the run history as one zip, laid out as `shadowft compare --out DIR` writes it (src/cli/compare.ts):
 * compare.json (the result, its wording and the answers: compareCsv.ts compareJson), shadow/ and conventional/ with
 * each adapter's PEFT files (adapter_config.json, adapter_model.safetensors; base_model_name_or_path = the Instruct).
 * The CLI's per-adapter README.md model card is not stored with the record, so it is not in the zip.
 */
import { downloadZip } from 'client-zip';
import type { AdapterFilesData, CompareRun, CompareView } from '../../worker/client';
import { compareJson } from './compareCsv';

/** The zip's file name for a comparison that started at `startedAt` (ISO): "compare-2026-12-08T00-38-20.zip". */
export function compareZipName(startedAt: string): string {
  return `compare-${startedAt.slice(0, 19).replace(/:/g, '-')}.zip`;
}

/** The zip of `view` and both adapters (see the file comment). */
export async function compareRecordZip(view: CompareView, adapters: Readonly<Record<CompareRun, AdapterFilesData>>): Promise<Blob> {
  const at = new Date();
  const files = [
    { name: 'compare.json', input: compareJson(view), lastModified: at },
    ...(['shadow', 'conventional'] as const).flatMap((run) => [
      { name: `${run}/adapter_config.json`, input: adapters[run].config, lastModified: at },
      { name: `${run}/adapter_model.safetensors`, input: adapters[run].safetensors, lastModified: at },
    ]),
  ];
  return downloadZip(files).blob();
}
