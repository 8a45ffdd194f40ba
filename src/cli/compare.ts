/**
 * `npx shadowft compare BASE_DIR INSTRUCT_DIR --train FILE --heldout FILE [training flags] [--stage dpo --pref-beta B
 * --pref-loss L --pref-ftx F] [--finetuning-type full [--train-embeddings false] [--write-merged]] [--check-regex RE]
 * [--eval-prompts N] [--max-new-tokens N] --out DIR`: the studio's Compare (app/compare/runCompare.ts) on this
 * machine's WebGPU adapter: two runs of the kind the flags choose (app/compare/kind.ts: LoRA SFT, LoRA DPO on
 * preference files read as `shadowft train --stage dpo` reads them, or full-parameter SFT) on Base (Shadow-FT,
 * grafted onto Instruct) and on Instruct (conventional) with identical settings, seed, data order and initialisation,
 * then five models measured on the held-out split. Writes DIR/compare.json ({"settings", "stage",
 * "finetuning_type", "heldout_loss", "exact_match", "check_rate", "mean_answer_tokens", "preference_accuracy",
 * "reward_margin", "chosen_logps", "rejected_logps"} keyed by instruct, instruct_conventional, instruct_shadow, base,
 * base_lora, plus context, the wording and every answer) and, for LoRA, both adapters in PEFT format (DIR/shadow/,
 * DIR/conventional/); for full, no adapter (--write-merged: DIR/merged/, the grafted Instruct) — cli/compareOutput.ts;
 * all into a hidden folder renamed to DIR when complete. Defaults are the studio's (engine defaultTrainSettings).
 */
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelFolder } from '../app/loadModel';
import { runCompare, type CompareJob } from '../app/compare/runCompare';
import { describeComparison } from '../app/compare/wording';
import { compareKindOf, compareModelLabels, resultLabels } from '../app/compare/kind';
import { pairConversations } from '../app/compare/prefCompare';
import { DEFAULT_COMPARE_OPTIONS, type CompareEvent } from '../app/compare/types';
import { validateCompareOptions } from '../app/compare/metrics';
import { tokenizePreferenceData, tokenizeTrainingData } from '../app/trainingData';
import { adapterBaseModel } from '../engine/graft/adapterBaseModel';
import { modelStopTokenIds } from '../engine/generate/stopTokens';
import { defaultTrainSettings } from '../engine/train/defaults';
import { planPrefSteps } from '../engine/train/prefRun';
import { planSteps } from '../engine/train/run';
import type { TrainSettings } from '../engine/train/types';
import { checkPairCompatible } from '../io/pair';
import { loadChatTokenizer } from '../io/tokenizer/load';
import { modelFilesFromDir } from '../node/files';
import { createNodeGpuContext } from '../node/gpu';
import { listOrNull, writeFolderAtomically } from './atomicDir';
import { compareOutputFiles, compareTableText, writtenSummary } from './compareOutput';
import type { Command } from './main';
import { readDatasetPath } from './datasetFile';
import { refuseKind, withFinetuningFlags } from './train';
import { TRAIN_FLAG_OPTIONS, trainSettingsFromFlags, warmupRatioForSteps } from './trainFlags';

const USAGE = 'compare BASE_DIR INSTRUCT_DIR --train FILE --heldout FILE [--stage sft|dpo --pref-beta B --pref-loss L --pref-ftx F] [--finetuning-type lora|full --train-embeddings true|false --write-merged] [--rank R --alpha A --lr LR --epochs N --max-steps N --batch-size B --grad-accum N --max-length T --warmup-steps N|--warmup-ratio F --weight-decay W --seed S --targets q_proj,...] [--check-regex RE] [--eval-prompts N] [--max-new-tokens N] --out DIR   Shadow-FT vs conventional tuning (LoRA SFT, DPO or full)';

const STRING_FLAGS = ['train', 'heldout', 'out', 'warmup-steps', 'check-regex', 'eval-prompts', 'max-new-tokens', 'finetuning-type', 'train-embeddings'] as const;

/** A number flag, or undefined when absent. @throws Error naming the flag when it is not a finite number (or an integer when `int`). */
function num(values: Record<string, string | boolean | undefined>, flag: string, int: boolean): number | undefined {
  const v = values[flag];
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n))) throw new Error(`--${flag} must be ${int ? 'a whole number' : 'a number'}, got "${v}"`);
  return n;
}

/**
 * The studio defaults with the flags applied (cli/trainFlags.ts trainSettingsFromFlags: --alpha defaults to 2·rank
 * when only --rank is given); --warmup-steps N becomes the warmup ratio that gives exactly N warmup steps
 * (trainFlags.ts warmupRatioForSteps) for `totalStepsOf(settings)`.
 * @throws Error naming the flag (not a number, unknown target module, both warmup flags, N out of range)
 */
export function settingsFromFlags(d: TrainSettings, values: Record<string, string | boolean | undefined>, totalStepsOf: (s: TrainSettings) => number): TrainSettings {
  const s = withFinetuningFlags(trainSettingsFromFlags(d, values), values);
  const ws = num(values, 'warmup-steps', true);
  if (ws === undefined) return s;
  if (values['warmup-ratio'] !== undefined) throw new Error('give --warmup-steps or --warmup-ratio, not both');
  return { ...s, warmupRatio: warmupRatioForSteps(ws, totalStepsOf(s)) };
}

/** Progress lines on stderr: training steps every 10% of a run, evaluations as they start; models named per kind. */
function progress(labels: Readonly<Record<string, string>>): (e: CompareEvent) => void {
  let lastDecile = -1;
  return (e) => {
    if (e.status === 'compare-message') process.stderr.write(`${e.message}\n`);
    else if (e.status === 'compare-train' && e.event.status === 'step') {
      const d = Math.floor((10 * e.event.step) / e.event.totalSteps);
      if (d !== lastDecile || e.event.step === e.event.totalSteps) process.stderr.write(`${e.run} step ${e.event.step}/${e.event.totalSteps} loss ${e.event.loss.toFixed(4)}\n`);
      lastDecile = e.event.step === e.event.totalSteps ? -1 : d;
    } else if (e.status === 'compare-loss') process.stderr.write(`held-out loss of ${labels[e.model]}: ${e.loss.toFixed(4)}\n`);
    else if (e.status === 'compare-generating' && e.prompt === 1) process.stderr.write(`generating ${e.prompts} greedy answers with ${labels[e.model]}\n`);
  };
}

/** The `compare` command (see the file comment). */
export const compareCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...TRAIN_FLAG_OPTIONS, ...Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: 'string' as const }])), 'write-merged': { type: 'boolean' } } });
    const v = values as Record<string, string | undefined>;
    const [baseDir, instructDir, extra] = positionals;
    if (!baseDir || !instructDir || extra !== undefined) throw new Error(`expected BASE_DIR INSTRUCT_DIR, got ${positionals.length} positional argument(s); usage: npx shadowft ${USAGE}`);
    const [trainPath, heldoutPath, outPath] = [v['train'], v['heldout'], v['out']];
    if (!trainPath) throw new Error('--train FILE is required (the training dataset)');
    if (!heldoutPath) throw new Error('--heldout FILE is required (the held-out dataset: the comparison is measured on it)');
    if (!outPath) throw new Error('--out DIR is required (the output folder)');
    const options = {
      checkRegex: v['check-regex'] ?? DEFAULT_COMPARE_OPTIONS.checkRegex,
      evalPrompts: num(v, 'eval-prompts', true) ?? DEFAULT_COMPARE_OPTIONS.evalPrompts,
      maxNewTokens: num(v, 'max-new-tokens', true) ?? DEFAULT_COMPARE_OPTIONS.maxNewTokens,
    };
    validateCompareOptions(options); // a bad regex is refused before anything is loaded or trained
    const outDir = resolve(outPath);
    const existing = await listOrNull(outDir);
    if (existing && existing.length > 0) throw new Error(`${outDir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); choose a new --out folder`);
    const baseFiles = await modelFilesFromDir(baseDir);
    const instructFiles = await modelFilesFromDir(instructDir);
    const base = await loadModelFolder(baseFiles);
    const instruct = await loadModelFolder(instructFiles);
    for (const w of [...base.warnings, ...instruct.warnings, ...checkPairCompatible(base, instruct)]) process.stderr.write(`warning: ${w}\n`);
    const tok = await loadChatTokenizer(instructFiles);
    const trainData = await readDatasetPath(trainPath);
    const heldoutData = await readDatasetPath(heldoutPath);
    const given = values as Record<string, string | boolean | undefined>;
    const stage = given['stage'] === 'dpo' ? 'dpo' : 'sft';
    compareKindOf({ stage, ...(given['finetuning-type'] === 'full' ? { finetuningType: 'full' as const } : {}) }); // DPO + full is refused before anything is tokenised
    refuseKind('--train', trainPath, trainData.kind, stage);
    refuseKind('--heldout', heldoutPath, heldoutData.kind, stage);
    const dpo = stage === 'dpo';
    const defaults = defaultTrainSettings(base.config, Math.max(1, dpo ? trainData.pairs.length : trainData.conversations.length));
    const vocab = Math.min(base.config.vocabSize, instruct.config.vocabSize);
    const say = (m: string): void => void process.stderr.write(`${m}\n`);
    const onPrep = (e: { status: string; message?: string }): void => {
      if (e.status === 'preparing' && e.message) say(e.message);
    };
    // Steps depend on Max length (the rows kept) and batching, so --warmup-steps is resolved on the tokenised data.
    const trainIn = { conversations: trainData.conversations, skipped: trainData.skipped };
    const pairsIn = { pairs: trainData.pairs, skipped: trainData.skipped };
    const none = { conversations: [], skipped: [] };
    const steps = (s: TrainSettings): number => dpo
      ? planPrefSteps(tokenizePreferenceData(tok, pairsIn, { pairs: [], skipped: [] }, s, vocab, instructFiles.name, () => {}).train, s, tok.padTokenId).length
      : planSteps(tokenizeTrainingData(tok, trainIn, none, s, vocab, instructFiles.name, () => {}).train.filter((e) => e.labels.some((l) => l !== -100)), s, tok.padTokenId).length;
    const settings = settingsFromFlags(defaults, given, steps);
    const writeMerged = given['write-merged'] === true;
    if (writeMerged && settings.finetuningType !== 'full') throw new Error('--write-merged applies to --finetuning-type full (a LoRA comparison writes its two adapters)');
    let data: Pick<CompareJob, 'train' | 'heldout' | 'pairs' | 'heldoutConversations'>;
    if (dpo) {
      const p = tokenizePreferenceData(tok, pairsIn, { pairs: heldoutData.pairs, skipped: heldoutData.skipped }, settings, vocab, instructFiles.name, onPrep);
      data = { train: [], heldout: (p.heldout ?? []).map((x) => x.chosen), pairs: { train: p.train, heldout: p.heldout ?? [] }, heldoutConversations: pairConversations(heldoutData.pairs) };
    } else {
      const splits = tokenizeTrainingData(tok, trainIn, { conversations: heldoutData.conversations, skipped: heldoutData.skipped }, settings, vocab, instructFiles.name, onPrep);
      data = { train: splits.train, heldout: splits.heldout ?? [], heldoutConversations: heldoutData.conversations };
    }
    const stop = await modelStopTokenIds(instructFiles, instruct.config, tok);
    for (const w of stop.warnings) process.stderr.write(`warning: ${w}\n`);
    const ctx = await createNodeGpuContext();
    try {
      const outcome = await runCompare({
        ctx,
        base: { name: baseFiles.name, config: base.config, checkpoint: base.checkpoint },
        instruct: { name: instructFiles.name, config: instruct.config, checkpoint: instruct.checkpoint },
        tok, ...data, settings, options, stopIds: stop.ids, onEvent: progress(compareModelLabels(settings)),
      });
      const r = outcome.result;
      const wording = describeComparison({ ...r, checkRegex: options.checkRegex, labels: resultLabels(r) });
      const baseModel = (await adapterBaseModel(instructFiles, { path: resolve(instructDir) })).value;
      const files = compareOutputFiles(outcome, wording, { baseDir: resolve(baseDir), instructDir: resolve(instructDir), instructFiles, baseModelNameOrPath: baseModel, settings, writeMerged });
      await writeFolderAtomically(outDir, files);
      process.stdout.write(compareTableText(outcome));
      for (const line of [...wording.verdicts.map((x) => x.text), ...wording.disagreements, ...wording.notes]) process.stdout.write(`${line}\n`);
      process.stderr.write(`wrote ${basename(outDir)}/${writtenSummary(outcome, writeMerged)} in ${outDir}\n`);
    } finally {
      ctx.device.destroy();
    }
    return 0;
  },
};
