/**
 * `npx shadowft profile BASE_DIR INSTRUCT_DIR --dataset FILE [--batch-size B] [--max-length T] [--rank R]`:
 * GPU time per kernel (timestamp queries), dispatch count and host encode time of one training micro-batch of the
 * default settings (engine/train/profileStep.ts), on this machine's WebGPU adapter. The data are tokenised with the
 * Instruct model's chat template, as in training; the micro-batch is the first of the training order.
 */
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { openCheckpoint } from '../io/checkpoint';
import { readModelConfig } from '../io/config';
import { makeBatches } from '../io/dataset/batches';
import { readDatasetFile } from '../io/dataset/parse';
import { loadChatTokenizer } from '../io/tokenizer/load';
import { tokenizeDataset } from '../io/tokenizer/labels';
import { createActivations } from '../engine/model/activations';
import { createLoraParams } from '../engine/model/lora';
import { makeGpuModel, destroyGpuModel } from '../engine/model/model';
import { loadModelWeights } from '../engine/model/weights';
import { defaultTrainSettings } from '../engine/train/defaults';
import { profileMicroBatch, profileTable } from '../engine/train/profileStep';
import { modelFilesFromDir } from '../node/files';
import { createNodeGpuContext } from '../node/gpu';
import type { Command } from './main';

const int = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${v}"`);
  return n;
};

/** The `profile` command (see the file comment). */
export const profileCommand: Command = {
  usage: 'profile BASE_DIR INSTRUCT_DIR --dataset FILE [--batch-size B] [--max-length T] [--rank R] [--json]   GPU time per kernel of one training micro-batch',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { dataset: { type: 'string' }, 'batch-size': { type: 'string' }, 'max-length': { type: 'string' }, rank: { type: 'string' }, json: { type: 'boolean' } } });
    const [baseDir, instDir] = positionals;
    if (!baseDir || !instDir || !values.dataset) throw new Error(`usage: npx shadowft ${profileCommand.usage}`);
    const baseFiles = await modelFilesFromDir(baseDir);
    const instFiles = await modelFilesFromDir(instDir);
    const cfg = await readModelConfig(baseFiles.files.get('config.json') ?? new Blob([]), `${basename(baseDir)}/config.json`);
    const tok = await loadChatTokenizer(instFiles);
    const { conversations: rows } = await readDatasetFile(await openAsBlob(values.dataset), basename(values.dataset));
    const d = defaultTrainSettings(cfg, rows.length);
    const r = int(values.rank, 'rank') ?? d.lora.r;
    const s = { ...d, batchSize: int(values['batch-size'], 'batch-size') ?? d.batchSize, maxLength: int(values['max-length'], 'max-length') ?? d.maxLength, lora: { ...d.lora, r, alpha: 2 * r } };
    const { examples } = tokenizeDataset(tok, rows, s.maxLength, cfg.vocabSize);
    const batch = makeBatches(examples, s.batchSize, { maxLength: s.maxLength, seed: s.seed, padTokenId: tok.padTokenId })[0];
    if (!batch) throw new Error(`${values.dataset}: no examples`);
    const ctx = await createNodeGpuContext();
    const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, await openCheckpoint(baseFiles)));
    const lora = createLoraParams(ctx, cfg, s.lora, { seed: s.seed });
    const acts = createActivations(ctx, cfg, batch.batchSize, batch.seqLen, s.lora.r, s.lora.targetModules, { recompute: s.recompute });
    try {
      const p = await profileMicroBatch(ctx, model, acts, lora, batch);
      process.stdout.write(values.json ? JSON.stringify({ adapter: ctx.adapter, ...p }, null, 1) + '\n' : `adapter: ${ctx.adapter.architecture || ctx.adapter.description} (${ctx.adapter.vendor})\n${profileTable(p)}`);
    } finally {
      acts.destroy();
      lora.destroy();
      destroyGpuModel(model);
      ctx.device.destroy();
    }
    return 0;
  },
};
