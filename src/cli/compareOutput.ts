/**
 * What `shadowft compare` writes and prints for every kind of comparison (app/compare/kind.ts): compare.json (the
 * result with stage, finetuning_type and — null where unmeasured — the per-model preference_accuracy, reward_margin,
 * chosen_logps and rejected_logps; the wording; every answer with its prompt), then for LoRA both adapters in PEFT
 * format (shadow/, conventional/; base_model_name_or_path = the Instruct model), for full no adapter folder: the
 * grafted Instruct W_I + (W_B′ − W_B) as merged/ (one model.safetensors in the Instruct's dtypes, the Instruct's
 * config and tokenizer files) when asked (--write-merged). And the table on stdout, labelled per kind.
 */
import type { CompareOutcome } from '../app/compare/runCompare';
import { resultLabels } from '../app/compare/kind';
import { COMPARE_MODELS, PREFERENCE_MEASURES } from '../app/compare/types';
import type { Wording } from '../app/compare/wording';
import { buildAdapterFiles } from '../engine/graft/adapterFiles';
import { COPIED_FILES, type OutputFile } from '../engine/graft/mergedModel';
import type { TrainSettings } from '../engine/train/types';
import type { ModelFiles } from '../io/checkpoint';
import { textOutputFile } from './atomicDir';

/** A Blob as an OutputFile. */
function blobOutputFile(name: string, blob: Blob): OutputFile {
  return { name, size: blob.size, parts: async function* () { yield new Uint8Array(await blob.arrayBuffer()) as Uint8Array<ArrayBuffer>; } };
}

/** Where the adapters' README cards say each run was trained, and the Instruct's id for base_model_name_or_path. */
export interface CompareOutputContext {
  readonly baseDir: string;
  readonly instructDir: string;
  readonly instructFiles: ModelFiles;
  /** the Instruct's Hub id or absolute path (engine/graft/adapterBaseModel.ts) */
  readonly baseModelNameOrPath: string;
  readonly settings: TrainSettings;
  /** full comparisons: write the grafted Instruct as merged/ */
  readonly writeMerged: boolean;
}

/**
 * The files of the output folder (see the file comment).
 * @throws Error when --write-merged is asked of a LoRA comparison (its adapters are written instead)
 */
export function compareOutputFiles(outcome: CompareOutcome, wording: Wording, c: CompareOutputContext): OutputFile[] {
  const json = {
    ...outcome.result,
    wording,
    answers: Object.fromEntries(COMPARE_MODELS.map((m) => [m, outcome.answers[m].map((a) => ({ ...a, prompt: outcome.prompts[a.index]?.userMessage ?? '' }))])),
  };
  const files: OutputFile[] = [textOutputFile('compare.json', `${JSON.stringify(json, null, 2)}\n`)];
  if (outcome.adapters) {
    if (c.writeMerged) throw new Error('--write-merged applies to --finetuning-type full (a LoRA comparison writes its two adapters; merge one with `npx shadowft merge`)');
    for (const run of ['shadow', 'conventional'] as const) {
      const f = buildAdapterFiles(outcome.adapters[run], { baseModelNameOrPath: c.baseModelNameOrPath, card: { trainedOn: run === 'shadow' ? c.baseDir : c.instructDir, training: c.settings } });
      files.push(textOutputFile(`${run}/adapter_config.json`, f['adapter_config.json']), blobOutputFile(`${run}/adapter_model.safetensors`, f['adapter_model.safetensors']), textOutputFile(`${run}/README.md`, f['README.md']));
    }
  } else if (outcome.full && c.writeMerged) {
    const graft = outcome.full.graft;
    const file = graft.tensors.values().next().value?.file;
    if (!file) throw new Error(`${graft.modelName}: the grafted checkpoint holds no tensor`);
    files.push(blobOutputFile('merged/model.safetensors', file));
    for (const [name, blob] of c.instructFiles.files) if (COPIED_FILES.test(name)) files.push(blobOutputFile(`merged/${name}`, blob));
  }
  return files;
}

/** What was written, in one sentence for stderr. */
export function writtenSummary(outcome: CompareOutcome, writeMerged: boolean): string {
  if (outcome.adapters) return 'compare.json, shadow/ and conventional/ (PEFT adapters)';
  return writeMerged ? 'compare.json and merged/ (the Instruct with the full Shadow-FT graft, one rounding to its dtype); no adapters: every weight was tuned' : 'compare.json (no adapters: every weight was tuned; --write-merged also writes the grafted Instruct)';
}

/** The table printed on stdout: one row per model, labelled per kind; stage dpo adds the preference columns. */
export function compareTableText(outcome: CompareOutcome): string {
  const r = outcome.result;
  const labels = resultLabels(r);
  const pref = r.stage === 'dpo';
  const cell = (x: number | null | undefined, d: number): string => (x === null || x === undefined ? '-' : x.toFixed(d)).padStart(10);
  const head = ['loss', 'exact', 'check', 'tokens', ...(pref ? ['pref_acc', 'margin', 'logp_ch', 'logp_rej'] : [])];
  const lines = [`${'model'.padEnd(34)}${head.map((h) => h.padStart(10)).join('')}`];
  for (const m of COMPARE_MODELS) {
    const prefCells = pref ? PREFERENCE_MEASURES.map((k) => cell(r[k]?.[m], 3)).join('') : '';
    lines.push(`${labels[m].padEnd(34)}${cell(r.heldout_loss[m], 4)}${cell(r.exact_match[m], 3)}${cell(r.check_rate[m], 3)}${cell(r.mean_answer_tokens[m], 1)}${prefCells}`);
  }
  return `${lines.join('\n')}\n`;
}
