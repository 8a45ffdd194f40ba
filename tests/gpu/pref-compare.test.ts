/**
 * Compare with the DPO stage (app/compare/prefCompare.ts) on the demo pair with story-titles-pref (8 training pairs,
 * 4 held-out, 4 steps): both DPO runs, the five models' preference measures against their own reference (the bare
 * models at accuracy 0 and margin 0, the adapted ones moved), and the SFT measures on the chosen answers; compare.json's
 * per-model preference fields; the Instruct's and Instruct + DPO's measures equal a direct engine/train/prefEval
 * measurement with the returned adapter; both runs were planned on the same pair order (planPrefSteps of the same
 * pairs and seed, deterministic) and took the same steps and reference batches.
 */
import { describe, expect, it } from 'vitest';
import { openAsBlob } from 'node:fs';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { preparePairSplit } from '../../src/io/tokenizer/pairs';
import { modelStopTokenIds } from '../../src/engine/generate/stopTokens';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { runPreferenceCompare } from '../../src/app/compare/prefCompare';
import type { CompareEvent } from '../../src/app/compare/types';
import { modelFilesFromDir } from '../../src/node/files';
import { makePreferenceBatches } from '../../src/io/dataset/prefBatches';
import { createActivations } from '../../src/engine/model/activations';
import { loraParamsFromAdapter } from '../../src/engine/model/loraFromAdapter';
import { destroyGpuModel, makeGpuModel } from '../../src/engine/model/model';
import { loadModelWeights } from '../../src/engine/model/weights';
import { prefEvalOf, splitLengths, splitLogps } from '../../src/engine/train/prefEval';
import { prefOptionsOf } from '../../src/engine/train/prefSettings';
import { planPrefSteps } from '../../src/engine/train/prefRun';
import { testGpu } from './device';

describe('Compare with the DPO stage (demo pair)', () => {
  it('trains DPO on Base and on Instruct and measures the five models', async () => {
    const ctx = await testGpu();
    const baseFiles = await modelFilesFromDir('../shared/models/stories260K-base');
    const instFiles = await modelFilesFromDir('../shared/models/stories260K-instruct');
    const cfg = await readModelConfig(baseFiles.files.get('config.json')!, 'config.json');
    const icfg = await readModelConfig(instFiles.files.get('config.json')!, 'config.json');
    const tok = await loadChatTokenizer(instFiles);
    const read = async (f: string, n: number) => (await readDatasetFile(await openAsBlob(`../shared/datasets/${f}`), f)).pairs.slice(0, n);
    const trainPairs = await read('story-titles-pref.train.trl.jsonl', 8);
    const heldPairs = await read('story-titles-pref.heldout.trl.jsonl', 4);
    const train = preparePairSplit(tok, trainPairs, [], 160, cfg.vocabSize).examples;
    const heldout = preparePairSplit(tok, heldPairs, [], 160, cfg.vocabSize).examples;
    const d = defaultTrainSettings(cfg, train.length);
    const settings = { ...d, stage: 'dpo' as const, maxSteps: 4, maxLength: 160, batchSize: 2, learningRate: 3e-3, warmupRatio: 0 };
    const events: CompareEvent[] = [];
    const out = await runPreferenceCompare({
      ctx, base: { name: 'base', config: cfg, checkpoint: await openCheckpoint(baseFiles) }, instruct: { name: 'instruct', config: icfg, checkpoint: await openCheckpoint(instFiles) },
      tok, train, heldout, heldoutConversations: heldPairs.map((p) => ({ messages: [...p.prompt, { role: 'assistant' as const, content: p.chosen }], source: p.source })),
      settings, options: { checkRegex: '^Title: ', evalPrompts: 2, maxNewTokens: 8 }, stopIds: (await modelStopTokenIds(instFiles, icfg, tok)).ids, onEvent: (e) => events.push(e),
    });
    const p = out.preference;
    for (const m of ['base', 'instruct'] as const) expect([p[m]?.metrics.accuracy, p[m]?.metrics.margin]).toEqual([0, 0]);
    for (const m of ['base_lora', 'instruct_conventional', 'instruct_shadow'] as const) expect(Math.abs(p[m]?.metrics.margin ?? 0)).toBeGreaterThan(1e-3);
    expect(p.instruct_shadow?.metrics.logpsChosen).not.toBe(p.instruct?.metrics.logpsChosen);
    expect(out.result.steps).toEqual({ shadow: 4, conventional: 4 });
    expect(out.result.train_examples).toBe(8);
    expect(out.result.settings.stage).toBe('dpo');
    for (const m of ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'] as const) {
      expect(Number.isFinite(out.result.heldout_loss[m])).toBe(true);
      expect(out.answers[m]).toHaveLength(2);
    }
    expect(events.filter((e) => e.status === 'compare-train' && e.event.status === 'reference').length).toBeGreaterThan(0);

    // compare.json's per-model preference fields, and the DPO labels' stage.
    const r = out.result;
    expect([r.stage, r.finetuning_type]).toEqual(['dpo', 'lora']);
    for (const m of ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'] as const) {
      expect([r.preference_accuracy?.[m], r.reward_margin?.[m], r.chosen_logps?.[m], r.rejected_logps?.[m]]).toEqual([p[m]?.metrics.accuracy, p[m]?.metrics.margin, p[m]?.metrics.logpsChosen, p[m]?.metrics.logpsRejected]);
      expect(Number.isFinite(r.chosen_logps?.[m])).toBe(true);
    }

    // A direct measurement on the Instruct with the conventional adapter (reference = the Instruct itself).
    const adapters = out.adapters;
    if (!adapters) throw new Error('a DPO comparison keeps both adapters');
    const batches = makePreferenceBatches(heldout, settings.batchSize, { maxLength: settings.maxLength, padTokenId: tok.padTokenId, shuffle: false });
    const model = makeGpuModel(icfg, await loadModelWeights(ctx, icfg, await openCheckpoint(instFiles)));
    const acts = createActivations(ctx, icfg, Math.max(2, ...batches.map((b) => b.batchSize)), Math.max(...batches.map((b) => b.seqLen)), settings.lora.r, settings.lora.targetModules, { withBackward: false });
    const lora = loraParamsFromAdapter(ctx, icfg, adapters.conventional);
    try {
      const ref = await splitLogps(ctx, model, acts, null, batches);
      const pol = await splitLogps(ctx, model, acts, lora, batches);
      if (!ref || !pol) throw new Error('not measured');
      const direct = prefEvalOf(pol, ref, splitLengths(batches), prefOptionsOf(settings));
      const bare = prefEvalOf(ref, ref, splitLengths(batches), prefOptionsOf(settings));
      expect(r.preference_accuracy?.instruct_conventional).toBe(direct.metrics.accuracy);
      expect(r.reward_margin?.instruct_conventional).toBeCloseTo(direct.metrics.margin, 9);
      expect(r.preference_accuracy?.instruct).toBe(bare.metrics.accuracy);
      expect(r.chosen_logps?.instruct).toBeCloseTo(bare.metrics.logpsChosen, 9);
    } finally {
      lora.destroy();
      acts.destroy();
      destroyGpuModel(model);
    }

    // The same pair order for both runs: one deterministic plan of the same pairs and seed, the same steps and reference batches.
    const order = (): string[] => planPrefSteps(train, settings, tok.padTokenId).flat().flatMap((b) => b.sources);
    expect(order()).toEqual(order());
    const refs = (run: string): number => events.filter((e) => e.status === 'compare-train' && e.run === run && e.event.status === 'reference').length;
    expect(refs('shadow')).toBe(refs('conventional'));
  });
});
