/**
 * `npx shadowft graft BASE_DIR TUNED_DIR INSTRUCT_DIR OUT_DIR [--max-shard-size 5GB] [--shared-rows-only]
 *  [--skip-derivation-check] [--csv TUNING.csv]`: grafts a tuned Base onto the Instruct model (engine/graft/graftTuned.ts):
 * W_I′ = W_I + (W_B′ − W_B) for a full tune (any tool), W_I + s·B·A for a PEFT LoRA adapter folder (LLaMA-Factory's
 * too). Streams shard by shard; everything is written into a hidden temporary folder next to OUT_DIR that is renamed
 * to OUT_DIR only when every file is complete (and removed on failure), so no partial folder looks complete.
 * OUT_DIR must not exist or be empty. --csv writes σ(W_B′, W_B) per tensor ("what tuning changed").
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { similarityCsv } from '../engine/analysis/similarityCsv';
import { UNRELATED_SIGMA } from '../engine/graft/derivation';
import { planGraftTuned } from '../engine/graft/graftTuned';
import { DEFAULT_MAX_SHARD_SIZE, parseSize } from '../engine/graft/shards';
import { loadModelFolder } from '../app/loadModel';
import { modelFilesFromDir } from '../node/files';
import type { Command } from './main';
import { listOrNull, writeFolderAtomically } from './atomicDir';
import { formatBytes, progressLine } from './progress';

/** The `graft` command (see the file comment); returns 0, throws on bad arguments or inputs (nothing written). */
export const graftCommand: Command = {
  usage: 'graft BASE_DIR TUNED_DIR INSTRUCT_DIR OUT_DIR [--max-shard-size 5GB] [--shared-rows-only] [--skip-derivation-check] [--csv TUNING.csv]   graft a tuned Base (full or LoRA) onto Instruct',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'max-shard-size': { type: 'string' },
        'shared-rows-only': { type: 'boolean', default: false },
        'skip-derivation-check': { type: 'boolean', default: false },
        csv: { type: 'string' },
      },
    });
    const [baseDir, tunedDir, instructDir, outArg, extra] = positionals;
    if (!baseDir || !tunedDir || !instructDir || !outArg || extra !== undefined) throw new Error(`expected BASE_DIR TUNED_DIR INSTRUCT_DIR OUT_DIR, got ${positionals.length} positional argument(s)`);
    const outDir = resolve(outArg);
    const existing = await listOrNull(outDir);
    if (existing && existing.length > 0) throw new Error(`${outDir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); choose a new OUT_DIR`);  // checked before the σ passes
    const maxShardSize = values['max-shard-size'] ? parseSize(values['max-shard-size']) : DEFAULT_MAX_SHARD_SIZE;
    const checkBar = progressLine('σ checks');
    const bar = progressLine('graft');
    const [baseFiles, tunedFiles, instructFiles] = [await modelFilesFromDir(baseDir), await modelFilesFromDir(tunedDir), await modelFilesFromDir(instructDir)];
    // Base and Instruct are validated exactly as a drop does (config.json against every tensor shape); TUNED is first
    // checked against the Base by planGraftTuned (family, names, shapes, dtype), then, when it is a full model folder,
    // validated the same way before anything is written.
    for (const f of [baseFiles, instructFiles]) for (const w of (await loadModelFolder(f)).warnings) process.stderr.write(`warning: ${f.name}: ${w}\n`);
    const plan = await planGraftTuned(baseFiles, tunedFiles, instructFiles, {
      maxShardSize,
      sharedRowsOnly: values['shared-rows-only'],
      skipDerivationCheck: values['skip-derivation-check'],
      onCheckProgress: (p) => checkBar.update(p.bytesDone, p.bytesTotal, `${p.pass}: ${p.tensor}`),
      onProgress: (p) => bar.update(p.bytesDone, p.bytesTotal, p.tensor),
    });
    checkBar.end();
    const d = plan.derivation;
    const f = (x: number | null): string => (x === null ? 'n/a' : x.toPrecision(4));
    process.stderr.write(plan.kind === 'lora'
      ? `LoRA adapter: W_I + s·B·A on ${plan.changedTensors.length} weights, s = ${plan.scaling}; σ(W_B′, W_B) = ${f(d.tuned)}\n`
      : `full tune: ${plan.changedTensors.length} tensors changed; σ(W_B′, W_B) = ${f(d.tuned)}, σ(W_B, W_I) = ${f(d.pair)} (ratio ${f(d.ratio)}); ${formatBytes(plan.totalTensorBytes)} of tensors\n${d.verdict ? `derivation: closer to the Base than to the Instruct on ${d.verdict.closerToBase} of ${d.verdict.deciding} changed layer tensors, σ(W_B′, W_B) < ${UNRELATED_SIGMA} on ${d.verdict.nearBase} of ${d.verdict.changed}${d.verdict.refusal ? ' — REFUSED without --skip-derivation-check' : ''}\n` : ''}`);
    for (const v of plan.vocab) process.stderr.write(`${v.tensor}: grafted the ${v.sharedRows} shared rows (Base ${v.baseRows}, TUNED ${v.tunedRows}, Instruct ${v.instructRows})\n`);
    if (!tunedFiles.files.has('adapter_config.json')) for (const w of (await loadModelFolder(tunedFiles)).warnings) process.stderr.write(`warning: ${tunedFiles.name}: ${w}\n`);
    if (values.csv) await writeFile(values.csv, similarityCsv(plan.tuning));
    await writeFolderAtomically(outDir, plan.files);
    bar.end();
    process.stdout.write(`${plan.files.map((x) => `${x.name}\t${x.size}`).join('\n')}\n`);
    process.stderr.write(`wrote ${plan.files.length} files to ${outDir}${values.csv ? `; σ(W_B′, W_B) per tensor in ${values.csv}` : ''}\n`);
    return 0;
  },
};
