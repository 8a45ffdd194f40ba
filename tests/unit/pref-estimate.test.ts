/**
 * The estimate of a stage-dpo run (app/prefEstimate.ts) on the demo pair with story-titles-pref: the reference pass
 * is counted over the pairs the planned steps use only (as engine/train/prefRun.ts computes it), the held-out
 * evaluations every Evaluate every steps are counted, and the untrained models' remembered held-out log-probs
 * (app/prefEvalCacheStore.ts) are counted as cached.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/app/session';
import { estimateRun, flopsOf } from '../../src/app/runEstimate';
import { defaultSettingsFor } from '../../src/app/training';
import { instructTokenizer } from '../../src/app/datasetPreview';
import { prefHeldoutKey, setPrefReference } from '../../src/app/prefEvalCacheStore';
import { makePreferenceBatches } from '../../src/io/dataset/prefBatches';
import { preparePairSplit } from '../../src/io/tokenizer/pairs';
import { planPrefSteps } from '../../src/engine/train/prefRun';

const DEMO = 'public/demo';
const m = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] } };

describe('stage dpo estimate', () => {
  it('counts the reference pass over the planned pairs, the evaluations during training and the cached ones', async () => {
    const s = new Session();
    const models = [...m.base.files.map((f) => `${m.base.name}/${f}`), ...m.instruct.files.map((f) => `${m.instruct.name}/${f}`)];
    await s.add([
      ...(await Promise.all(models.map(async (path) => ({ path, file: await openAsBlob(`${DEMO}/${path}`) })))),
      ...(await Promise.all(['story-titles-pref.train.trl.jsonl', 'story-titles-pref.heldout.trl.jsonl'].map(async (path) => ({ path, file: await openAsBlob(`../shared/datasets/${path}`) })))),
    ]);
    const settings = { ...defaultSettingsFor(s), stage: 'dpo' as const, maxSteps: 2, batchSize: 2, gradAccum: 1, maxLength: 96, evalSteps: 1 };
    const e = await estimateRun(s, settings);
    expect(e.totalSteps).toBe(2);
    expect(e.evalsDuringTraining).toBe(1);
    // Independent count: the 4 pairs of the 2 planned steps, in pair order, 2 per batch, forward of the bare model.
    const pair = s.requirePair();
    const tok = await instructTokenizer(s);
    const train = preparePairSplit(tok, s.pairs('train'), [], 96, pair.base.config.vocabSize).examples;
    const used = [...new Set(planPrefSteps(train, settings, tok.padTokenId).flat().flatMap((b) => [...b.pairIndex!]))].sort((a, b) => a - b);
    expect(used).toHaveLength(4);
    const refB = makePreferenceBatches(used.map((i) => train[i]!), 2, { maxLength: 96, padTokenId: tok.padTokenId, shuffle: false });
    expect(e.referenceFlops).toBe(flopsOf(pair.base.config, { ...settings, lora: { ...settings.lora, targetModules: [] } }, refB, true));
    expect(e.cachedEvals).toEqual({ base: false, instruct: false });
    const heldout = preparePairSplit(tok, s.pairs('heldout'), [], 96, pair.base.config.vocabSize).examples;
    const n = heldout.length;
    setPrefReference(pair.baseId, prefHeldoutKey(heldout, 96), { chosen: new Float64Array(n).fill(-1), rejected: new Float64Array(n).fill(-2) });
    expect((await estimateRun(s, settings)).cachedEvals).toEqual({ base: true, instruct: false });
  });
});
