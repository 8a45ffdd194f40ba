/**
 * Compare with finetuning_type full (issue 18) on the demo pair (16 training rows, 8 held-out, 2 steps): Instruct +
 * Shadow-FT graft is evaluated with the weights a download holds — its held-out loss equals the loss of
 * bf16(W_I + (W_B′ − W_B)) built here independently (W_B′ from a separate runFullTraining with the same settings, the
 * graft formed on the CPU from e2e/reference.ts's safetensors reader and BF16 rounding, not app/compare/fullWeights.ts);
 * the tuned Base's loss equals the engine's own evaluation of W_B′ during that run; Base's loss equals an SFT LoRA
 * Compare's Base; the result says finetuning_type full and has no adapters.
 */
import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { f32ToBf16Bits, readSafetensorsFile, tensorValues } from '../../e2e/reference';
import { runCompare, type CompareJob } from '../../src/app/compare/runCompare';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { safetensorsBlob } from '../../src/io/safetensors';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { prepareSplit } from '../../src/io/tokenizer/prepare';
import { createActivations } from '../../src/engine/model/activations';
import { destroyGpuModel, makeGpuModel } from '../../src/engine/model/model';
import { loadModelWeights } from '../../src/engine/model/weights';
import { modelStopTokenIds } from '../../src/engine/generate/stopTokens';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { evalBatches } from '../../src/engine/train/evalBatches';
import { runFullTraining } from '../../src/engine/train/runFull';
import { evaluateLoss } from '../../src/engine/train/step';
import type { TrainEvent } from '../../src/engine/train/types';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

const M = '../shared/models';

describe('Compare with finetuning_type full (demo pair)', () => {
  it('evaluates the downloaded graft, the tuned Base and the untouched Base', async () => {
    const ctx = await testGpu();
    const baseFiles = await modelFilesFromDir(`${M}/stories260K-base`);
    const instFiles = await modelFilesFromDir(`${M}/stories260K-instruct`);
    const cfg = await readModelConfig(baseFiles.files.get('config.json')!, 'config.json');
    const icfg = await readModelConfig(instFiles.files.get('config.json')!, 'config.json');
    const tok = await loadChatTokenizer(instFiles);
    const read = async (f: string, n: number) => (await readDatasetFile(await openAsBlob(`../shared/datasets/${f}`), f)).conversations.slice(0, n);
    const trainConvs = await read('story-titles.train.alpaca.json', 16);
    const heldConvs = await read('story-titles.heldout.alpaca.json', 8);
    const train = prepareSplit(tok, trainConvs, [], 64, cfg.vocabSize, {}).examples;
    const heldout = prepareSplit(tok, heldConvs, [], 64, cfg.vocabSize, {}).examples;
    const settings = { ...defaultTrainSettings(cfg, train.length), maxSteps: 2, batchSize: 4, maxLength: 64, learningRate: 1e-4, warmupRatio: 0, finetuningType: 'full' as const };
    const base = await openCheckpoint(baseFiles);
    const instruct = await openCheckpoint(instFiles);
    const job: CompareJob = {
      ctx, base: { name: 'base', config: cfg, checkpoint: base }, instruct: { name: 'instruct', config: icfg, checkpoint: instruct },
      tok, train, heldout, heldoutConversations: heldConvs, settings, options: { checkRegex: '^Title: ', evalPrompts: 1, maxNewTokens: 4 },
      stopIds: (await modelStopTokenIds(instFiles, icfg, tok)).ids, onEvent: () => {},
    };
    const out = await runCompare(job);
    expect(out.result.finetuning_type).toBe('full');
    expect(out.adapters).toBeNull();
    expect(out.result.steps).toEqual({ shadow: 2, conventional: 2 });
    for (const m of ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'] as const) expect(Number.isFinite(out.result.heldout_loss[m])).toBe(true);
    // Both Instruct variants are measured in the Instruct's dtype (as downloaded); the tuned Base stays F32.
    const dtypes = (c: { tensors: ReadonlyMap<string, { info: { dtype: string } }> }) => new Set([...c.tensors.values()].map((t) => t.info.dtype));
    expect([...dtypes(out.full!.tunedInstruct)]).toEqual(['BF16']);
    expect([...dtypes(out.full!.graft)]).toEqual(['BF16']);
    expect([...dtypes(out.full!.tunedBase)]).toEqual(['F32']);

    // W_B′ again, independently, with the engine's own held-out evaluation of the tuned Base.
    const events: TrainEvent[] = [];
    const r = await runFullTraining({ ctx, config: cfg, base, train, heldout, settings, padTokenId: tok.padTokenId, onEvent: (e) => events.push(e) });
    const tunedLoss = events.find((e) => e.status === 'eval' && e.model === 'base+lora');
    if (tunedLoss?.status !== 'eval') throw new Error('no held-out loss of the tuned Base');
    expect(Math.abs((out.result.heldout_loss.base_lora as number) - tunedLoss.loss)).toBeLessThan(1e-4 * tunedLoss.loss);

    // bf16(W_I + (W_B′ − W_B)) on the CPU, every tensor of the Instruct file.
    const bf = readSafetensorsFile(`${M}/stories260K-base/model.safetensors`);
    const inf = readSafetensorsFile(`${M}/stories260K-instruct/model.safetensors`);
    const tensors = [...inf.tensors].map(([name, t]) => {
      const wi = tensorValues(t);
      const wb = tensorValues(bf.tensors.get(name)!);
      const wt = r.tensors.get(name)!;
      const bits = new Uint16Array(wi.length);
      for (let i = 0; i < wi.length; i++) bits[i] = f32ToBf16Bits(Math.fround((wi[i] as number) + Math.fround((wt[i] as number) - (wb[i] as number))));
      expect(t.dtype).toBe('BF16');
      return { name, dtype: 'BF16' as const, shape: t.shape, byteLength: bits.byteLength, data: new Uint8Array(bits.buffer) };
    });
    const graft = await openCheckpoint({ name: 'graft', files: new Map([['model.safetensors', safetensorsBlob(tensors)]]) });
    const T = Math.min(64, Math.max(...heldout.map((e) => e.inputIds.length)));
    const batches = evalBatches(heldout, 4 * T, 64, tok.padTokenId);
    const model = makeGpuModel(icfg, await loadModelWeights(ctx, icfg, graft));
    const acts = createActivations(ctx, icfg, 4, T, 0, [], { withBackward: false });
    try {
      const loss = await evaluateLoss(ctx, model, acts, null, batches);
      expect(Math.abs((out.result.heldout_loss.instruct_shadow as number) - loss)).toBeLessThan(1e-6 * loss);
    } finally {
      acts.destroy();
      destroyGpuModel(model);
    }

    // Base is the same model in every kind of comparison.
    const sft = await runCompare({ ...job, settings: { ...settings, finetuningType: 'lora', maxSteps: 1 } });
    expect(out.result.heldout_loss.base).toBe(sft.result.heldout_loss.base);
    expect(out.result.heldout_loss.instruct).toBe(sft.result.heldout_loss.instruct);
  });
});
