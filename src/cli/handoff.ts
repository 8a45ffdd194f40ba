/**
 * `npx shadowft handoff BASE_DIR INSTRUCT_DIR --train FILE [--heldout FILE] --out DIR [training flags]`: writes the
 * "Export for a cluster" folder (src/app/handoff): LLaMA-Factory YAMLs for the Shadow-FT run (Base) and the
 * conventional run (Instruct), the data in ShareGPT layout with data/dataset_info.json, graft_mergekit.yaml and a
 * README with the commands. Training flags mirror the studio's settings form (same names as its field ids) and start
 * from the same defaults (engine/train/defaults.ts defaultTrainSettings): --rank --alpha --dropout --rslora
 * --targets q_proj,v_proj,… --lr --epochs --max-steps --batch-size --grad-accum --max-length --weight-decay --warmup-ratio
 * --max-grad-norm --seed (cli/trainFlags.ts; the earlier --batch --accum --wd --warmup --clip still work);
 * plus --finetuning-type lora|full, --template NAME (a registered LLaMA-Factory template; default: left out),
 * --deepspeed PATH. Files go to DIR.partial-PID first and DIR is created by a rename at the end (DIR must not exist
 * or be empty). Imports no GPU code.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildHandoff } from '../app/handoff/handoff';
import { refuseKind } from './train';
import { defaultTrainSettings, validateSettings } from '../engine/train/defaults';
import { type TrainSettings } from '../engine/train/types';
import { normalizeConfig } from '../io/config';
import { parseDataset } from '../io/dataset/parse';
import { loadModelFolder } from '../app/loadModel';
import { MAX_SKIPPED_FRACTION } from '../io/tokenizer/prepare';
import { modelFilesFromDir } from '../node/files';
import { listOrNull, textOutputFile, writeFolderAtomically } from './atomicDir';
import type { Command } from './main';
import { TRAIN_FLAG_OPTIONS_WITH_ALIASES, trainSettingsFromFlags } from './trainFlags';

/** The `handoff` command (see the file comment). */
export const handoffCommand: Command = {
  usage: 'handoff BASE_DIR INSTRUCT_DIR --train FILE [--heldout FILE] --out DIR [--stage sft|dpo --pref-beta --pref-loss --pref-ftx] [--rank R --alpha A --lr X --epochs N … --finetuning-type lora|full --template NAME --deepspeed PATH]   LLaMA-Factory + mergekit export',
  async run(args) {
    const s = { type: 'string' } as const;
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        train: s, heldout: s, out: s, ...TRAIN_FLAG_OPTIONS_WITH_ALIASES,
        'finetuning-type': s, template: s, deepspeed: s,
      },
    });
    const [baseDir, instructDir, extra] = positionals;
    if (!baseDir || !instructDir || extra !== undefined) throw new Error(`expected BASE_DIR INSTRUCT_DIR, got ${positionals.length} positional argument(s)`);
    if (!values.train) throw new Error('--train FILE is required (a .json, .jsonl or .csv dataset)');
    if (!values.out) throw new Error('--out DIR is required');
    const ft = values['finetuning-type'] ?? 'lora';
    if (ft !== 'lora' && ft !== 'full') throw new Error(`--finetuning-type: expected lora or full, got ${ft}`);
    const trainParsed = parseDataset(await readFile(values.train, 'utf8'), basename(values.train));
    const heldoutParsed = values.heldout ? parseDataset(await readFile(values.heldout, 'utf8'), basename(values.heldout)) : null;
    // Rows the parser skipped (file, 1-based row, reason) are reported and not exported, as in training.
    for (const r of [...trainParsed.skipped, ...(heldoutParsed?.skipped ?? [])]) process.stderr.write(`skipped ${r.file} row ${r.row}: ${r.reason}\n`);
    const dpo = (values as Record<string, unknown>).stage === 'dpo';
    for (const [flag, p] of [['--train', trainParsed], ['--heldout', heldoutParsed]] as const) if (p) refuseKind(flag, flag === '--train' ? values.train : (values.heldout ?? ''), p.kind, dpo ? 'dpo' : 'sft');
    const train = trainParsed.conversations;
    const heldout = heldoutParsed?.conversations ?? null;
    const kept = (p: typeof trainParsed): number => (dpo ? p.pairs.length : p.conversations.length);
    // The studio's rule (io/tokenizer/prepare.ts): a run refuses a split with nothing left or more than half skipped.
    for (const [file, p] of [[values.train, trainParsed], [values.heldout, heldoutParsed]] as const) {
      if (!p) continue;
      const rows = kept(p) + p.skipped.length;
      if (kept(p) === 0) throw new Error(`${file}: no usable rows (${p.skipped.length} skipped)`);
      if (p.skipped.length > MAX_SKIPPED_FRACTION * rows) throw new Error(`${file}: ${p.skipped.length} of ${rows} rows were skipped, more than ${MAX_SKIPPED_FRACTION * 100}% (the studio refuses to train on it); fix the data first`);
    }
    const base = await modelFilesFromDir(resolve(baseDir));
    const instruct = await modelFilesFromDir(resolve(instructDir));
    // Both folders are validated exactly as a drop does before a recipe is written for them.
    for (const f of [base, instruct]) for (const w of (await loadModelFolder(f)).warnings) process.stderr.write(`warning: ${f.name}: ${w}\n`);
    // The UI's defaults come from the Base's config (app/training.ts defaultSettingsFor); so do these.
    const cfgText = await readFile(join(resolve(baseDir), 'config.json'), 'utf8');
    const cfg = normalizeConfig(JSON.parse(cfgText) as unknown, `${base.name}/config.json`);
    const settings = trainSettingsFromFlags(defaultTrainSettings(cfg, Math.max(1, kept(trainParsed))), values);
    validateSettings(settings, cfg);
    const outDir = resolve(values.out);
    const existing = await listOrNull(outDir);
    if (existing && existing.length > 0) throw new Error(`${outDir} is not empty (${existing.slice(0, 3).join(', ')}); choose a new --out`);
    const files = await buildHandoff({
      base, instruct, basePath: resolve(baseDir), instructPath: resolve(instructDir), train, heldout, settings, finetuningType: ft,
      ...(dpo ? { trainPairs: trainParsed.pairs, heldoutPairs: heldoutParsed?.pairs ?? null } : {}),
      ...(values.template !== undefined ? { template: values.template } : {}),
      ...(values.deepspeed !== undefined ? { deepspeed: values.deepspeed } : {}),
      exportDir: outDir,
    });
    await writeFolderAtomically(outDir, files.map((f) => textOutputFile(f.name, f.text)));
    process.stdout.write(`${files.map((f) => f.name).join('\n')}\n`);
    process.stderr.write(`wrote ${files.length} files to ${outDir}; next: cd into it and run llamafactory-cli train train_shadow_base.yaml (see README.md)\n`);
    return 0;
  },
};
