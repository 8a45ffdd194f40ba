/**
 * `npx shadowft merge INSTRUCT_DIR ADAPTER_DIR OUT_DIR [--max-shard-size 5GB] [--force]`: grafts a PEFT LoRA adapter
 * (trained on the Base) onto the Instruct model, W_I' = W_I + s·B·A (Shadow-FT §3.1; engine/graft/mergedModel.ts),
 * and writes a loadable HF model folder (single or sharded safetensors + index, config and tokenizer files).
 * Streams tensor by tensor (bounded memory); each file is written as NAME.partial and renamed when complete.
 * --force writes into a non-empty OUT_DIR (same-named files are replaced) but never next to stale weight files
 * (*.safetensors / index) that this merge would not overwrite. Progress on stderr. Imports no WGSL and no GPU code.
 */
import { mkdir, open, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readAdapterFiles } from '../engine/graft/adapterFiles';
import { checkAdapterFilesAgainstModel } from '../engine/graft/adapterKeys';
import { loadModelFolder } from '../app/loadModel';
import { planMergedModel, type OutputFile } from '../engine/graft/mergedModel';
import { DEFAULT_MAX_SHARD_SIZE, parseSize } from '../engine/graft/shards';
import { modelFilesFromDir } from '../node/files';
import type { Command } from './main';
import { formatBytes, progressLine } from './progress';

/** Writes one output file to `dir` via a `.partial` file renamed at the end. */
export async function writeOutputFile(dir: string, f: OutputFile): Promise<void> {
  const path = join(dir, f.name);
  const tmp = `${path}.partial`;
  const fh = await open(tmp, 'w');
  let n = 0;
  try {
    for await (const part of f.parts()) {
      await fh.write(part);
      n += part.byteLength;
    }
  } finally {
    await fh.close();
  }
  if (n !== f.size) throw new Error(`${path}: wrote ${n} bytes, expected ${f.size}`);
  await rename(tmp, path);
}

/** The `merge` command (see the file comment); returns exit code 0, throws on bad arguments, folders or adapters. */
export const mergeCommand: Command = {
  usage: 'merge INSTRUCT_DIR ADAPTER_DIR OUT_DIR [--max-shard-size 5GB] [--force]   graft a LoRA adapter onto Instruct',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { 'max-shard-size': { type: 'string' }, force: { type: 'boolean', default: false } },
    });
    const [instructDir, adapterDir, outDir, extra] = positionals;
    if (!instructDir || !adapterDir || !outDir || extra !== undefined) throw new Error(`expected INSTRUCT_DIR ADAPTER_DIR OUT_DIR, got ${positionals.length} positional argument(s)`);
    const maxShardSize = values['max-shard-size'] ? parseSize(values['max-shard-size']) : DEFAULT_MAX_SHARD_SIZE;
    const adapterFiles = await modelFilesFromDir(adapterDir);
    const instructFiles = await modelFilesFromDir(instructDir);
    // The Instruct folder is validated exactly as a drop does (config.json against every tensor shape), so a
    // folder whose config contradicts its weights is refused instead of merged into a model that will not load.
    const instruct = await loadModelFolder(instructFiles);
    for (const w of instruct.warnings) process.stderr.write(`warning: ${instructFiles.name}: ${w}\n`);
    // Keys first: an adapter for another model is refused with what did not match, before any weight is read.
    const keys = await checkAdapterFilesAgainstModel(adapterFiles, instruct.checkpoint);
    for (const w of keys.warnings) process.stderr.write(`warning: ${w}\n`);
    const adapter = await readAdapterFiles(adapterFiles);
    const bar = progressLine('merge');
    const plan = await planMergedModel(instructFiles, adapter, {
      maxShardSize,
      onProgress: (p) => bar.update(p.bytesDone, p.bytesTotal, p.tensor),
    });
    await mkdir(outDir, { recursive: true });
    const existing = await readdir(outDir);
    if (existing.length > 0 && !values.force) throw new Error(`${outDir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); use --force to write into it`);
    const writing = new Set(plan.files.map((f) => f.name));
    const stale = existing.filter((n) => /\.safetensors(\.index\.json)?$/.test(n) && !writing.has(n));
    if (stale.length) throw new Error(`${outDir} holds weight files this merge would not overwrite (${stale.join(', ')}); a loader could pick them up, so remove them or choose another OUT_DIR`);
    const { r, alpha, useRslora } = adapter.settings;
    process.stderr.write(`merging ${plan.mergedTensors.length} weights with s = ${plan.scaling} (r ${r}, alpha ${alpha}${useRslora ? ', rsLoRA' : ''}); ${formatBytes(plan.totalTensorBytes)} of tensors\n`);
    for (const f of plan.files) await writeOutputFile(outDir, f);
    bar.end();
    process.stdout.write(`${plan.files.map((f) => `${f.name}\t${f.size}`).join('\n')}\n`);
    process.stderr.write(`wrote ${plan.files.length} files to ${outDir}\n`);
    return 0;
  },
};
