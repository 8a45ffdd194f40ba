/**
 * Evaluation during training (TrainSettings.evalSteps, LLaMA-Factory eval_steps) on the real stories260K pair: a
 * 7-step run evaluating every 3 steps reports held-out loss of Base + LoRA after steps 3 and 6 (not 7: the
 * after-training loss covers the last step), each right after its step, below Base's loss before training.
 */
import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { tokenizeDataset } from '../../src/io/tokenizer/labels';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { runTraining } from '../../src/engine/train/run';
import type { TrainEvent } from '../../src/engine/train/types';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

const M = '../shared/models';
const D = '../shared/datasets';

describe('evaluation during training', () => {
  it('reports held-out loss of Base + LoRA every evalSteps steps, never twice for the last step', async () => {
    const ctx = await testGpu();
    const baseFiles = await modelFilesFromDir(`${M}/stories260K-base`);
    const cfg = await readModelConfig(baseFiles.files.get('config.json')!, 'stories260K-base/config.json');
    const tok = await loadChatTokenizer(await modelFilesFromDir(`${M}/stories260K-instruct`));
    const read = async (f: string) => (await readDatasetFile(await openAsBlob(`${D}/${f}`), f)).conversations;
    const train = tokenizeDataset(tok, (await read('story-titles.train.alpaca.json')).slice(0, 40), 64, cfg.vocabSize).examples;
    const heldout = tokenizeDataset(tok, (await read('story-titles.heldout.alpaca.json')).slice(0, 5), 64, cfg.vocabSize).examples;
    const settings = { ...defaultTrainSettings(cfg, train.length), maxSteps: 7, maxLength: 64, learningRate: 3e-3, batchSize: 3, warmupRatio: 0, evalSteps: 3 };
    const base = await openCheckpoint(baseFiles);
    const events: TrainEvent[] = [];
    await runTraining({ ctx, config: cfg, base, train, heldout, settings, padTokenId: tok.padTokenId, onEvent: (e) => events.push(e) });
    const during = events.filter((e): e is Extract<TrainEvent, { status: 'eval-step' }> => e.status === 'eval-step');
    expect(during.map((e) => [e.step, e.totalSteps])).toEqual([[3, 7], [6, 7]]);
    // The event follows its step and precedes the next one.
    const order = events.flatMap((e) => (e.status === 'step' ? [`s${e.step}`] : e.status === 'eval-step' ? [`e${e.step}`] : []));
    expect(order).toEqual(['s1', 's2', 's3', 'e3', 's4', 's5', 's6', 'e6', 's7']);
    const after = events.find((e): e is Extract<TrainEvent, { status: 'eval' }> => e.status === 'eval' && e.model === 'base+lora')!.loss;
    for (const e of during) expect(Number.isFinite(e.loss)).toBe(true);
    expect(after).not.toBe(during[1]!.loss);
    const baseBefore = events.find((e): e is Extract<TrainEvent, { status: 'eval' }> => e.status === 'eval' && e.model === 'base')!.loss;
    expect(during[1]!.loss).toBeLessThan(baseBefore);
  });
});
