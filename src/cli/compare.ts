/**
 * `npx shadowft compare BASE_DIR INSTRUCT_DIR --train FILE --heldout FILE [training flags] [--check-regex RE]
 * [--eval-prompts N] [--max-new-tokens N] --out DIR`: the studio's Compare (app/compare/runCompare.ts) on this
 * machine's WebGPU adapter: LoRA trained on Base (Shadow-FT, grafted onto Instruct) and on Instruct (conventional)
 * with identical settings, seed, data order and initialisation, then five models measured on the held-out split.
 * Writes DIR/compare.json ({"settings", "heldout_loss", "exact_match", "check_rate", "mean_answer_tokens"} keyed by
 * instruct, instruct_conventional, instruct_shadow, base, base_lora, plus context, the wording and every answer) and
 * both adapters in PEFT format (DIR/shadow/, DIR/conventional/; base_model_name_or_path = the Instruct model), all
 * into a hidden folder renamed to DIR when complete. Defaults are the studio's (engine defaultTrainSettings).
 */
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelFolder } from '../app/loadModel';
import { runCompare } from '../app/compare/runCompare';
import { describeComparison } from '../app/compare/wording';
import { COMPARE_MODEL_LABELS, COMPARE_MODELS, DEFAULT_COMPARE_OPTIONS, type CompareEvent } from '../app/compare/types';
import { validateCompareOptions } from '../app/compare/metrics';
import { tokenizeTrainingData } from '../app/trainingData';
import { adapterBaseModel } from '../engine/graft/adapterBaseModel';
import { buildAdapterFiles } from '../engine/graft/adapterFiles';
import type { OutputFile } from '../engine/graft/mergedModel';
import { modelStopTokenIds } from '../engine/generate/stopTokens';
import { defaultTrainSettings } from '../engine/train/defaults';
import { planSteps } from '../engine/train/run';
import type { TrainSettings } from '../engine/train/types';
import { checkPairCompatible } from '../io/pair';
import { loadChatTokenizer } from '../io/tokenizer/load';
import { modelFilesFromDir } from '../node/files';
import { createNodeGpuContext } from '../node/gpu';
import { listOrNull, textOutputFile, writeFolderAtomically } from './atomicDir';
import type { Command } from './main';
import { readDatasetPath } from './datasetFile';
import { TRAIN_FLAG_OPTIONS, trainSettingsFromFlags, warmupRatioForSteps } from './trainFlags';

const USAGE = 'compare BASE_DIR INSTRUCT_DIR --train FILE --heldout FILE [--rank R --alpha A --lr LR --epochs N --max-steps N --batch-size B --grad-accum N --max-length T --warmup-steps N|--warmup-ratio F --weight-decay W --seed S --targets q_proj,...] [--check-regex RE] [--eval-prompts N] [--max-new-tokens N] --out DIR   Shadow-FT vs conventional LoRA';

const STRING_FLAGS = ['train', 'heldout', 'out', 'warmup-steps', 'check-regex', 'eval-prompts', 'max-new-tokens'] as const;

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
  const s = trainSettingsFromFlags(d, values);
  const ws = num(values, 'warmup-steps', true);
  if (ws === undefined) return s;
  if (values['warmup-ratio'] !== undefined) throw new Error('give --warmup-steps or --warmup-ratio, not both');
  return { ...s, warmupRatio: warmupRatioForSteps(ws, totalStepsOf(s)) };
}

/** A Blob as an OutputFile. */
function blobOutputFile(name: string, blob: Blob): OutputFile {
  return { name, size: blob.size, parts: async function* () { yield new Uint8Array(await blob.arrayBuffer()) as Uint8Array<ArrayBuffer>; } };
}

/** Progress lines on stderr: training steps every 10% of a run, evaluations as they start. */
function progress(): (e: CompareEvent) => void {
  let lastDecile = -1;
  return (e) => {
    if (e.status === 'compare-message') process.stderr.write(`${e.message}\n`);
    else if (e.status === 'compare-train' && e.event.status === 'step') {
      const d = Math.floor((10 * e.event.step) / e.event.totalSteps);
      if (d !== lastDecile || e.event.step === e.event.totalSteps) process.stderr.write(`${e.run} step ${e.event.step}/${e.event.totalSteps} loss ${e.event.loss.toFixed(4)}\n`);
      lastDecile = e.event.step === e.event.totalSteps ? -1 : d;
    } else if (e.status === 'compare-loss') process.stderr.write(`held-out loss of ${COMPARE_MODEL_LABELS[e.model]}: ${e.loss.toFixed(4)}\n`);
    else if (e.status === 'compare-generating' && e.prompt === 1) process.stderr.write(`generating ${e.prompts} greedy answers with ${COMPARE_MODEL_LABELS[e.model]}\n`);
  };
}

/** The `compare` command (see the file comment). */
export const compareCommand: Command = {
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...TRAIN_FLAG_OPTIONS, ...Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: 'string' as const }])) } });
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
    const defaults = defaultTrainSettings(base.config, Math.max(1, trainData.conversations.length));
    const vocab = Math.min(base.config.vocabSize, instruct.config.vocabSize);
    const say = (m: string): void => void process.stderr.write(`${m}\n`);
    // Steps depend on Max length (the rows kept) and batching, so --warmup-steps is resolved on the tokenised data.
    const trainIn = { conversations: trainData.conversations, skipped: trainData.skipped };
    const noHeldout = { conversations: [], skipped: [] };
    const steps = (s: TrainSettings): number => planSteps(tokenizeTrainingData(tok, trainIn, noHeldout, s, vocab, instructFiles.name, () => {}).train.filter((e) => e.labels.some((l) => l !== -100)), s, tok.padTokenId).length;
    const settings = settingsFromFlags(defaults, values as Record<string, string | boolean | undefined>, steps);
    const splits = tokenizeTrainingData(tok, trainIn, { conversations: heldoutData.conversations, skipped: heldoutData.skipped }, settings, vocab, instructFiles.name, (e) => {
      if (e.status === 'preparing') say(e.message);
    });
    const stop = await modelStopTokenIds(instructFiles, instruct.config, tok);
    for (const w of stop.warnings) process.stderr.write(`warning: ${w}\n`);
    const ctx = await createNodeGpuContext();
    try {
      const outcome = await runCompare({
        ctx,
        base: { name: baseFiles.name, config: base.config, checkpoint: base.checkpoint },
        instruct: { name: instructFiles.name, config: instruct.config, checkpoint: instruct.checkpoint },
        tok, train: splits.train, heldout: splits.heldout ?? [], heldoutConversations: heldoutData.conversations,
        settings, options, stopIds: stop.ids, onEvent: progress(),
      });
      const r = outcome.result;
      const wording = describeComparison({ ...r, checkRegex: options.checkRegex });
      const json = {
        ...r,
        wording,
        answers: Object.fromEntries(COMPARE_MODELS.map((m) => [m, outcome.answers[m].map((a) => ({ ...a, prompt: outcome.prompts[a.index]?.userMessage ?? '' }))])),
      };
      const files: OutputFile[] = [textOutputFile('compare.json', `${JSON.stringify(json, null, 2)}\n`)];
      const baseModel = (await adapterBaseModel(instructFiles, { path: resolve(instructDir) })).value;
      for (const run of ['shadow', 'conventional'] as const) {
        const f = buildAdapterFiles(outcome.adapters[run], { baseModelNameOrPath: baseModel, card: { trainedOn: resolve(run === 'shadow' ? baseDir : instructDir), training: settings } });
        files.push(textOutputFile(`${run}/adapter_config.json`, f['adapter_config.json']), blobOutputFile(`${run}/adapter_model.safetensors`, f['adapter_model.safetensors']), textOutputFile(`${run}/README.md`, f['README.md']));
      }
      await writeFolderAtomically(outDir, files);
      const cell = (x: number | null, d: number): string => (x === null ? '-' : x.toFixed(d)).padStart(10);
      process.stdout.write(`${'model'.padEnd(30)}${'loss'.padStart(10)}${'exact'.padStart(10)}${'check'.padStart(10)}${'tokens'.padStart(10)}\n`);
      for (const m of COMPARE_MODELS) process.stdout.write(`${COMPARE_MODEL_LABELS[m].padEnd(30)}${cell(r.heldout_loss[m], 4)}${cell(r.exact_match[m], 3)}${cell(r.check_rate[m], 3)}${cell(r.mean_answer_tokens[m], 1)}\n`);
      for (const line of [...wording.verdicts.map((x) => x.text), ...wording.disagreements, ...wording.notes]) process.stdout.write(`${line}\n`);
      process.stderr.write(`wrote ${basename(outDir)}/compare.json, shadow/ and conventional/ in ${outDir}\n`);
    } finally {
      ctx.device.destroy();
    }
    return 0;
  },
};
