/** Reading a Playwright download: save it, unzip it with fflate, and index entries by their base name. */
import { readFileSync } from 'node:fs';
import type { Download } from '@playwright/test';
import { unzipSync } from 'fflate';

/** Unzipped files of a download: base name (folders stripped) → bytes; also the full entry names. */
export async function unzipDownload(download: Download, dir: string): Promise<{ names: string[]; files: Map<string, Uint8Array> }> {
  const path = `${dir}/${download.suggestedFilename()}`;
  await download.saveAs(path);
  const entries = unzipSync(new Uint8Array(readFileSync(path)));
  const names = Object.keys(entries).filter((n) => !n.endsWith('/'));
  const files = new Map(names.map((n) => [n.split('/').pop() as string, entries[n] as Uint8Array]));
  return { names, files };
}
