/**
 * `npx shadowft dataset FILE... --template-from INSTRUCT_DIR [--template-kwargs JSON] [--max-length N] [--json]`:
 * parses dataset files (or LLaMA-Factory data folders with dataset_info.json), renders every kept row with the
 * Instruct model's chat template and labels it, with the same code a studio run uses (io/dataset + io/tokenizer/prepare).
 * `--json` prints {"kept", "skipped": [{"file", "row", "reason"}], "examples": [{"file", "row", "text", "labelled"}],
 * "pairs": [{"file", "row", "chosen": {"text", "labelled"}, "rejected": {"text", "labelled"}}]} where `text` is the
 * full render and `labelled` the labelled token spans, each decoded with special tokens kept. Preference files
 * (chosen/rejected rows, io/dataset/prefRecords) give `pairs`, rendered as a dpo run renders them (io/tokenizer/pairs);
 * `kept` counts conversations and pairs.
 * Exit code 1 (message on stderr) when a file cannot be read or nothing is left to train on.
 */
import { openAsBlob } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readDatasetFile, datasetFormatOf } from '../io/dataset/parse';
import { DEFAULT_ATTR, parseDatasetInfo, type DatasetInfoEntry } from '../io/dataset/datasetInfo';
import type { Conversation, PreferencePair, SkippedRow } from '../io/dataset/types';
import { loadChatTokenizer } from '../io/tokenizer/load';
import type { LabelledExample } from '../io/tokenizer/labels';
import { preparePairSplit } from '../io/tokenizer/pairs';
import { MAX_SKIPPED_FRACTION, prepareSplit } from '../io/tokenizer/prepare';
import { parseTemplateKwargs } from '../io/tokenizer/render';
import { modelFilesFromDir } from '../node/files';
import type { Command } from './main';

/** One rendered sequence: the full render and its labelled token spans, decoded. */
export interface RenderedSequence {
  readonly text: string;
  readonly labelled: readonly string[];
}

/** The `--json` output (see the file comment). */
export interface DatasetReport {
  readonly kept: number;
  readonly skipped: readonly SkippedRow[];
  readonly examples: readonly ({ readonly file: string; readonly row: number } & RenderedSequence)[];
  readonly pairs: readonly { readonly file: string; readonly row: number; readonly chosen: RenderedSequence; readonly rejected: RenderedSequence }[];
}

/** Dataset file paths of the arguments (a folder gives its dataset files) and the dataset_info.json entries found. */
async function collect(args: readonly string[]): Promise<{ files: string[]; info: Map<string, DatasetInfoEntry> }> {
  const files: string[] = [];
  const info = new Map<string, DatasetInfoEntry>();
  for (const a of args) {
    const st = await stat(a).catch(() => null);
    if (!st) throw new Error(`${a}: no such file or folder`);
    if (!st.isDirectory()) {
      files.push(a);
      continue;
    }
    const names = (await readdir(a)).sort();
    if (names.includes('dataset_info.json')) {
      const path = join(a, 'dataset_info.json');
      const parsed = parseDatasetInfo(await readFile(path, 'utf8'), path);
      for (const [k, v] of parsed.entries) info.set(k, v);
      for (const u of parsed.unusable) process.stderr.write(`${u}\n`);
    }
    files.push(...names.filter((n) => n !== 'dataset_info.json' && datasetFormatOf(n) !== null).map((n) => join(a, n)));
  }
  return { files, info };
}

/** Vocabulary size of the Instruct folder's config.json (training keeps ids below it), or +∞ without one. */
async function vocabOf(dir: string): Promise<number> {
  try {
    const v = (JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { vocab_size?: unknown }).vocab_size;
    return typeof v === 'number' ? v : Number.MAX_SAFE_INTEGER;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

/**
 * Runs the command's pipeline and returns the report (no printing).
 * @throws DatasetError / TokenizerError naming the file or folder
 */
export async function datasetReport(paths: readonly string[], templateDir: string, kwargsJson: string | undefined, maxLength: number): Promise<DatasetReport> {
  const kwargs = kwargsJson === undefined ? {} : parseTemplateKwargs(kwargsJson);
  const { files, info } = await collect(paths);
  if (files.length === 0) throw new Error('no dataset files (.json, .jsonl, .csv, .parquet) given');
  const conversations: Conversation[] = [];
  const pairs: PreferencePair[] = [];
  const parseSkips: SkippedRow[] = [];
  const pairSkips: SkippedRow[] = [];
  for (const f of files) {
    const parsed = await readDatasetFile(await openAsBlob(f), f, info.get(f)?.attr ?? DEFAULT_ATTR);
    conversations.push(...parsed.conversations);
    pairs.push(...parsed.pairs);
    (parsed.kind === 'preference' ? pairSkips : parseSkips).push(...parsed.skipped);
  }
  const tok = await loadChatTokenizer(await modelFilesFromDir(templateDir));
  const bySource = new Map(conversations.map((c) => [c.source, c]));
  const vocab = await vocabOf(templateDir);
  const split = prepareSplit(tok, conversations, parseSkips, maxLength, vocab, kwargs);
  const pairSplit = preparePairSplit(tok, pairs, pairSkips, maxLength, vocab, kwargs);
  const rendered = (ex: LabelledExample): RenderedSequence => ({ text: ex.text, labelled: ex.tokenSpans.map(([a, b]) => tok.decode(ex.inputIds.subarray(a, Math.min(b, ex.inputIds.length)))) });
  return {
    kept: split.examples.length + pairSplit.examples.length,
    skipped: [...split.skipped, ...pairSplit.skipped],
    examples: split.examples.map((ex) => {
      const c = bySource.get(ex.source);
      return { file: c?.file ?? ex.source, row: c?.row ?? 0, ...rendered(ex) };
    }),
    pairs: pairSplit.examples.map((p) => ({ file: p.file, row: p.row, chosen: rendered(p.chosen), rejected: rendered(p.rejected) })),
  };
}

/** The `dataset` command (see the file comment). */
export const datasetCommand: Command = {
  usage: 'dataset FILE|DIR... --template-from INSTRUCT_DIR [--template-kwargs JSON] [--max-length N] [--json]   render and label a dataset (SFT rows or chosen/rejected pairs) as training does',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { 'template-from': { type: 'string' }, 'template-kwargs': { type: 'string' }, 'max-length': { type: 'string' }, json: { type: 'boolean', default: false } },
    });
    const dir = values['template-from'];
    if (!dir) throw new Error('--template-from INSTRUCT_DIR is required (the Instruct model folder whose chat template renders the data)');
    const maxLength = values['max-length'] === undefined ? 1 << 30 : Number(values['max-length']);
    const report = await datasetReport(positionals, dir, values['template-kwargs'], maxLength);
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      process.stdout.write(`kept ${report.kept}, skipped ${report.skipped.length}\n`);
      for (const s of report.skipped) process.stdout.write(`  skipped ${s.file} row ${s.row}: ${s.reason}\n`);
      const first = report.examples[0];
      if (first) process.stdout.write(`first example (${first.file} row ${first.row}):\n${first.text}\nlabelled: ${JSON.stringify(first.labelled)}\n`);
      const pair = report.pairs[0];
      if (pair) {
        process.stdout.write(`${report.pairs.length} preference pairs; first pair (${pair.file} row ${pair.row}):\n`);
        for (const k of ['chosen', 'rejected'] as const) process.stdout.write(`${k}:\n${pair[k].text}\nlabelled: ${JSON.stringify(pair[k].labelled)}\n`);
      }
    }
    if (report.kept === 0) {
      process.stderr.write('nothing left to train on\n');
      return 1;
    }
    // The same rule as the studio's Start button (io/tokenizer/prepare.ts refusalOf): say when a run would refuse.
    const rows = report.kept + report.skipped.length;
    if (report.skipped.length > MAX_SKIPPED_FRACTION * rows) process.stderr.write(`warning: ${report.skipped.length} of ${rows} rows are skipped, more than ${MAX_SKIPPED_FRACTION * 100}%: a training run would refuse this data\n`);
    return 0;
  },
};
