/**
 * `npx shadowft train BASE_DIR INSTRUCT_DIR --train FILE [--heldout FILE] --out DIR [flags] [--checkpoint-every N]
 * [--resume DIR]`: the studio's training use case in Node. The data is tokenised with the Instruct chat template
 * exactly as the studio does (app/trainingData.ts), the settings start from the studio's defaults for the Base and
 * the training rows (engine/train/defaults.ts, as app/training.ts defaultSettingsFor) and the flags change them:
 * --rank (α follows as 2r unless --alpha) --alpha --dropout --lr --epochs --max-steps --batch-size --grad-accum
 * --max-length --warmup-steps W | --warmup-ratio X --weight-decay --max-grad-norm --seed --targets q_proj,v_proj,….
 * --stage dpo (with --pref-beta 0.1 --pref-loss sigmoid|hinge|ipo|orpo|simpo --pref-ftx 0) trains a preference
 * objective on chosen/rejected pairs instead (Shadow-DPO: engine/train/prefRun.ts; --batch-size counts pairs); a
 * preference file is refused for sft and an SFT file for dpo, by name.
 * --warmup-steps W is recorded as the ratio (W − ½)/total, so that ceil(total · ratio) = W exactly (schedule.ts).
 * Writes DIR/adapter/ (PEFT adapter + README.md model card; base_model_name_or_path = --base-model-name-or-path ID,
 * else the Instruct's Hub id when its config.json or Hugging Face cache path tells it, else the Instruct folder's
 * absolute path: engine/graft/adapterBaseModel.ts), DIR/checkpoints/ (the latest
 * checkpoint; every N optimizer steps, default ≈ one minute of work, and at SIGINT) and DIR/run.log (ISO-timestamped).
 * SIGINT (Ctrl-C) stops within one micro-batch, saves a checkpoint and exits 130; a second SIGINT exits at once.
 * --resume DIR continues the latest checkpoint of DIR (refused by name when the models, data, settings or app
 * version differ); --out may then be the same DIR. Progress on stderr; the adapter's files on stdout.
 * --finetuning-type full (LLaMA-Factory's name) trains every weight of the Base instead (--train-embeddings false
 * freezes embed_tokens and a tied lm_head) and writes DIR/tuned-base/ and DIR/merged/ (cli/trainFull.ts); its
 * checkpoints hold the f32 weights and AdamW m, v of every trained tensor (12 bytes per parameter) and resume alike.
 */
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { adapterBaseModel } from '../engine/graft/adapterBaseModel';
import { buildAdapterFiles } from '../engine/graft/adapterFiles';
import { defaultTrainSettings, validateSettings } from '../engine/train/defaults';
import { dataSettingsProblem } from '../app/settingsChecks';
import { planSteps, runTraining } from '../engine/train/run';
import type { TrainEvent, TrainSettings } from '../engine/train/types';
import { loadChatTokenizer } from '../io/tokenizer/load';
import { checkpointContentId } from '../io/contentId';
import { loadModelFolder } from '../app/loadModel';
import { tokenizePreferenceData, tokenizeTrainingData } from '../app/trainingData';
import { planPrefSteps, runPreferenceTraining } from '../engine/train/prefRun';
import type { TrainCheckpoint } from '../engine/train/checkpoint';
import type { DatasetKind } from '../io/dataset/types';
import { createNodeGpuContext } from '../node/gpu';
import { modelFilesFromDir } from '../node/files';
import { listOrNull, textOutputFile, writeFolderAtomically } from './atomicDir';
import type { Command } from './main';
import { readDatasetPath } from './datasetFile';
import { numFlag, TRAIN_FLAG_OPTIONS, trainSettingsFromFlags, warmupRatioForSteps } from './trainFlags';
import { earlierEvalEntries, earlierStepMetrics, loadLatestCheckpoint, prefLogFields, runLog, saveCheckpoint, trainerState, writeTrainerState, type LogHistoryEntry } from './trainOutput';
import type { OutputFile } from '../engine/graft/mergedModel';
import { runFullCli } from './trainFull';

/**
 * --finetuning-type lora|full and --train-embeddings true|false (full runs) onto the settings.
 * @throws Error naming the flag for another value.
 */
export function withFinetuningFlags(s: TrainSettings, v: Record<string, string | boolean | undefined>): TrainSettings {
  const ft = v['finetuning-type'];
  const te = v['train-embeddings'];
  if (ft !== undefined && ft !== 'lora' && ft !== 'full') throw new Error(`--finetuning-type: expected lora or full, got ${String(ft)}`);
  if (te !== undefined && te !== 'true' && te !== 'false') throw new Error(`--train-embeddings: expected true or false, got ${String(te)}`);
  return { ...s, ...(ft ? { finetuningType: ft } : {}), ...(te ? { trainEmbeddings: te === 'true' } : {}) };
}
import { prefEvalLine, prefMetricsText } from '../engine/train/prefEval';

/** One run.log / stderr line for an event (null for per-batch evaluation progress). */
function eventLine(e: TrainEvent): string | null {
  switch (e.status) {
    case 'preparing':
      return e.message;
    case 'evaluating':
      return e.batch ? null : e.message;
    case 'step':
      return `step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} lr ${e.learningRate.toExponential(3)} grad_norm ${e.gradNorm.toFixed(4)} ${e.tokensPerSec.toFixed(0)} tok/s ETA ${Math.round(e.etaSec)} s`;
    case 'eval':
      return `held-out loss of ${e.model} (${e.when} training): ${e.loss.toFixed(4)}${e.cached ? ' (from the checkpoint)' : ''}`;
    case 'eval-step':
      return e.metrics ? `step ${e.step}/${e.totalSteps} held-out preference metrics of base+lora: ${prefMetricsText(e.metrics, e.loss)}` : `step ${e.step}/${e.totalSteps} eval_loss ${e.loss.toFixed(4)} (held-out loss of base+lora)`;
    case 'reference':
      return e.cached ? 'reference log-probs taken from the checkpoint' : e.batch === 0 ? `reference pass: log-probs of the training pairs with the adapter off (${e.batches} batches)` : e.batch === e.batches ? 'reference pass done' : null;
    case 'pref-eval':
      return `${prefEvalLine(e)}${e.cached ? ' (held-out log-probs from the checkpoint)' : ''}`;
    case 'resumed':
      return `resuming at step ${e.step} of ${e.totalSteps}`;
    case 'checkpoint':
      return e.error ? `checkpoint after step ${e.step} NOT saved: ${e.error}` : `checkpoint saved after step ${e.step}/${e.totalSteps}`;
    case 'done':
      return `training complete: ${e.steps} steps, final loss ${e.finalLoss.toFixed(4)}`;
    case 'cancelled':
      return `cancelled after ${e.steps} steps`;
    case 'error':
      return `error: ${e.message}`;
  }
}

/**
 * Refuses a dataset whose kind does not fit the stage, naming the file: stage dpo needs preference pairs, stage sft
 * conversations. @throws Error
 */
export function refuseKind(flag: string, file: string, kind: DatasetKind, stage: 'sft' | 'dpo'): void {
  if (stage === 'dpo' && kind !== 'preference') throw new Error(`${flag} ${file} is an SFT dataset (conversations); --stage dpo needs preference pairs (chosen/rejected answers, e.g. story-titles-pref.train.trl.jsonl)`);
  if (stage === 'sft' && kind === 'preference') throw new Error(`${flag} ${file} is a preference dataset (chosen/rejected pairs); train it with --stage dpo, or give an SFT dataset`);
}

/** The `train` command (see the file comment). Exit codes: 0 complete, 130 stopped by SIGINT (checkpoint saved). */
export const trainCommand: Command = {
  usage: 'train BASE_DIR INSTRUCT_DIR --train FILE [--heldout FILE] --out DIR [--stage sft|dpo --pref-beta --pref-loss --pref-ftx] [--rank --alpha --lr --epochs --max-steps --batch-size --grad-accum --max-length --warmup-steps|--warmup-ratio --weight-decay --seed --targets] [--eval-steps N] [--checkpoint-every N] [--resume DIR] [--base-model-name-or-path ID] [--finetuning-type lora|full --train-embeddings true|false]   LoRA on Base → PEFT adapter (+ run.log, trainer_state.json); full → tuned Base + merged Instruct',
  async run(args) {
    const s = { type: 'string' } as const;
    const { values: parsed, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        train: s, heldout: s, out: s, resume: s, 'checkpoint-every': s, 'warmup-steps': s, 'eval-steps': s, 'base-model-name-or-path': s, 'finetuning-type': s, 'train-embeddings': s, ...TRAIN_FLAG_OPTIONS,
      },
    });
    const values = parsed as Record<string, string | boolean | undefined>;
    const [baseDir, instructDir, extra] = positionals;
    if (!baseDir || !instructDir || extra !== undefined) throw new Error(`expected BASE_DIR INSTRUCT_DIR, got ${positionals.length} positional argument(s)`);
    if (typeof values.train !== 'string') throw new Error('--train FILE is required (a .json, .jsonl, .csv or .parquet dataset)');
    if (typeof values.out !== 'string') throw new Error('--out DIR is required');
    if (values['warmup-steps'] !== undefined && values['warmup-ratio'] !== undefined) throw new Error('give --warmup-steps or --warmup-ratio, not both');
    const every = values['checkpoint-every'] !== undefined ? numFlag('checkpoint-every', values['checkpoint-every'] as string) : 0;
    if (!Number.isInteger(every) || every < 0) throw new Error(`--checkpoint-every: expected a whole number of optimizer steps ≥ 1, got ${every}`);
    const evalSteps = values['eval-steps'] !== undefined ? numFlag('eval-steps', values['eval-steps'] as string) : 0;
    if (!Number.isInteger(evalSteps) || evalSteps < 0) throw new Error(`--eval-steps: expected a whole number of optimizer steps ≥ 0 (0 = before and after training only), got ${evalSteps}`);
    if (evalSteps > 0 && typeof values.heldout !== 'string') throw new Error('--eval-steps needs --heldout FILE (the held-out split it evaluates)');
    const outDir = resolve(values.out);
    const resumeDir = typeof values.resume === 'string' ? resolve(values.resume) : null;
    const existing = (await listOrNull(outDir)) ?? [];
    if (existing.includes('adapter')) throw new Error(`${outDir}/adapter already exists (this run was completed); choose a new --out`);
    // A run that stopped before its first checkpoint (bad settings, no trainable example) left only its run.log: start afresh there.
    const checkpointsLeft = existing.includes('checkpoints') ? ((await listOrNull(join(outDir, 'checkpoints'))) ?? []).length : 0;
    const onlyLog = existing.every((n) => n === 'run.log' || n === 'checkpoints' || n === 'trainer_state.json') && checkpointsLeft === 0;
    if (existing.length > 0 && !onlyLog && outDir !== resumeDir) {
      throw new Error(`${outDir} is not empty (${existing.slice(0, 3).join(', ')}); choose a new --out, or continue its run with the same command plus --resume ${values.out}`);
    }
    const resumed = resumeDir ? await loadLatestCheckpoint(resumeDir) : null;

    const baseFiles = await modelFilesFromDir(resolve(baseDir));
    const instructFiles = await modelFilesFromDir(resolve(instructDir));
    const base = await loadModelFolder(baseFiles);
    const instruct = await loadModelFolder(instructFiles);
    for (const [f, m] of [[baseFiles, base], [instructFiles, instruct]] as const) for (const w of m.warnings) process.stderr.write(`warning: ${f.name}: ${w}\n`);
    const trainParsed = await readDatasetPath(values.train);
    const heldoutParsed = typeof values.heldout === 'string' ? await readDatasetPath(values.heldout) : null;
    const stage = values.stage === 'dpo' ? 'dpo' : 'sft';
    for (const [flag, p] of [['--train', trainParsed], ['--heldout', heldoutParsed]] as const) if (p) refuseKind(flag, values[flag.slice(2)] as string, p.kind, stage);
    const rows = stage === 'dpo' ? trainParsed.pairs.length : trainParsed.conversations.length;
    let settings = withFinetuningFlags(trainSettingsFromFlags(defaultTrainSettings(base.config, Math.max(1, rows)), values), values);
    if (evalSteps > 0) settings = { ...settings, evalSteps };
    if (stage === 'dpo' && settings.finetuningType === 'full') throw new Error('--stage dpo trains LoRA only; drop --finetuning-type full (full-parameter runs are stage sft)');
    validateSettings(settings, base.config);
    const dataProblem = dataSettingsProblem(settings, rows);
    if (dataProblem) throw new Error(dataProblem.replaceAll('Batch size', '--batch-size').replace('Gradient accumulation', '--grad-accum'));
    const full = settings.finetuningType === 'full';

    const log = runLog(outDir);
    const say = (text: string): void => {
      process.stderr.write(`${text}\n`);
      void log.line(text);
    };
    // trainer_state.json's log_history (HF Trainer): step losses and held-out evaluations; an earlier attempt's evaluations are kept on --resume.
    const logHistory: LogHistoryEntry[] = resumed ? await earlierEvalEntries(outDir, resumed.checkpoint.step) : [];
    const stepMetrics = resumed ? await earlierStepMetrics(outDir, resumed.checkpoint.step) : new Map<number, Record<string, number>>();
    let stepsPerEpoch = 1;
    let totalSteps = 0;
    let globalStep = 0;
    const epoch = (step: number): number => step / stepsPerEpoch;
    const saveState = (): Promise<void> =>
      writeTrainerState(outDir, trainerState(logHistory, { globalStep, maxSteps: totalSteps, stepsPerEpoch, numTrainEpochs: settings.epochs, trainBatchSize: settings.batchSize, evalSteps }));
    const onEvent = (e: TrainEvent): void => {
      const line = eventLine(e);
      if (line !== null) say(line);
      if (e.status === 'step') {
        globalStep = e.step;
        logHistory.push({ epoch: epoch(e.step), step: e.step, loss: e.loss, learning_rate: e.learningRate, grad_norm: e.gradNorm, ...(e.metrics ? prefLogFields(e.metrics, '') : {}) });
      } else if (e.status === 'resumed') {
        globalStep = e.step;
        logHistory.push(...e.history.map((h) => ({ epoch: epoch(h.step), step: h.step, loss: h.loss, learning_rate: h.lr, grad_norm: h.gradNorm, ...stepMetrics.get(h.step) })));
      } else if (e.status === 'eval-step' || (e.status === 'eval' && e.model === 'base+lora')) {
        logHistory.push({ epoch: epoch(globalStep), step: e.status === 'eval-step' ? e.step : globalStep, eval_loss: e.loss, ...(e.status === 'eval-step' && e.metrics ? prefLogFields(e.metrics, 'eval_') : {}) });
      } else if (e.status === 'pref-eval' && e.model === 'base+lora' && e.when === 'after') {
        // Stage dpo's after-training evaluation, as TRL's DPOTrainer logs an evaluation (eval_loss, eval_rewards/*, …).
        logHistory.push({ epoch: epoch(globalStep), step: globalStep, eval_loss: e.loss, ...prefLogFields(e.metrics, 'eval_') });
      }
    };
    say(`shadowft train ${args.join(' ')}`);
    if (resumed) say(`resuming ${resumed.path} (step ${resumed.checkpoint.step} of ${resumed.checkpoint.totalSteps})`);
    const tok = await loadChatTokenizer(instructFiles);
    const vocab = Math.min(base.config.vocabSize, instruct.config.vocabSize);
    const split = (p: typeof trainParsed | null) => ({ conversations: p?.conversations ?? [], skipped: p?.skipped ?? [] });
    const pairSplit = (p: typeof trainParsed | null) => ({ pairs: p?.pairs ?? [], skipped: p?.skipped ?? [] });
    const data = stage === 'dpo' ? null : tokenizeTrainingData(tok, split(trainParsed), split(heldoutParsed), settings, vocab, instructFiles.name, onEvent);
    const prefData = stage === 'dpo' ? tokenizePreferenceData(tok, pairSplit(trainParsed), pairSplit(heldoutParsed), settings, vocab, instructFiles.name, onEvent) : null;
    const trainable = data ? data.train.filter((e) => e.labels.some((l) => l !== -100)) : [];
    const planRows = prefData ? prefData.train.length : trainable.length;
    // (planSteps / planPrefSteps name the problem when nothing is trainable; without --warmup-steps the run does.)
    if (planRows > 0 || values['warmup-steps'] !== undefined) {
      totalSteps = prefData ? planPrefSteps(prefData.train, settings, tok.padTokenId).length : planSteps(trainable, settings, tok.padTokenId).length;
      stepsPerEpoch = Math.max(1, Math.ceil(Math.ceil(planRows / settings.batchSize) / settings.gradAccum));
    }
    if (values['warmup-steps'] !== undefined) {
      settings = { ...settings, warmupRatio: warmupRatioForSteps(numFlag('warmup-steps', values['warmup-steps'] as string), totalSteps) };
    }

    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = (): void => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      say('SIGINT: stopping after the current micro-batch and saving a checkpoint (Ctrl-C again to quit at once)');
      controller.abort(new DOMException('Interrupted (SIGINT)', 'AbortError'));
    };
    process.on('SIGINT', onSigint);
    try {
      const ctx = await createNodeGpuContext();
      const common = {
        ctx, config: base.config, base: base.checkpoint, instruct: instruct.checkpoint,
        settings, padTokenId: tok.padTokenId, signal: controller.signal, onEvent,
        modelId: await checkpointContentId(base.checkpoint),
        ...(resumed ? { resume: resumed.checkpoint } : {}),
        ...(every > 0 ? { checkpointEvery: every } : {}),
        onCheckpoint: async (c: TrainCheckpoint) => {
          say(`wrote ${await saveCheckpoint(outDir, c)}`);
          await saveState();
        },
      };
      if (full) {
        const r = await runFullCli({ ...common, train: data?.train ?? [], ...(data?.heldout ? { heldout: data.heldout } : {}) }, baseFiles, instructFiles, outDir, say);
        await saveState();
        if (r.status === 'cancelled') {
          say(`stopped at step ${r.steps} of ${r.totalSteps}; continue by running the same command with --resume ${values.out} added (same --out)`);
          await log.line('exit 130');
          return 130;
        }
        await log.line('exit 0');
        process.stdout.write(`${r.dirs.join('\n')}\n`);
        return 0;
      }
      const result = prefData
        ? await runPreferenceTraining({ ...common, train: prefData.train, ...(prefData.heldout ? { heldout: prefData.heldout } : {}) })
        : await runTraining({ ...common, train: data?.train ?? [], ...(data?.heldout ? { heldout: data.heldout } : {}) });
      await saveState();
      if (result.status === 'cancelled') {
        say(`stopped at step ${result.steps} of ${result.totalSteps}; continue by running the same command with --resume ${values.out} added (same --out)`);
        await log.line('exit 130');
        return 130;
      }
      const given = typeof values['base-model-name-or-path'] === 'string' ? values['base-model-name-or-path'] : undefined;
      const baseModel = await adapterBaseModel(instructFiles, { path: resolve(instructDir), ...(given !== undefined ? { given } : {}) });
      const files = buildAdapterFiles(result.adapter, { baseModelNameOrPath: baseModel.value, card: { trainedOn: resolve(baseDir), training: settings, steps: result.steps } });
      const st = new Uint8Array(await files['adapter_model.safetensors'].arrayBuffer());
      const stFile: OutputFile = { name: 'adapter_model.safetensors', size: st.byteLength, parts: async function* () { yield st; } };
      const adapterDir = join(outDir, 'adapter');
      await writeFolderAtomically(adapterDir, [textOutputFile('adapter_config.json', files['adapter_config.json']), stFile, textOutputFile('README.md', files['README.md'])]);
      say(`wrote the PEFT adapter to ${adapterDir} (base_model_name_or_path ${baseModel.value}, from ${baseModel.source})`);
      await log.line('exit 0');
      process.stdout.write(`${join(adapterDir, 'adapter_config.json')}\n${join(adapterDir, 'adapter_model.safetensors')}\n`);
      return 0;
    } catch (e) {
      await log.line(`failed: ${(e as Error).message}`);
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
