/**
 * The comparison estimate per kind (app/compareEstimate.ts) on the demo pair: stage dpo counts the preference run's
 * steps (two sequences per pair + the reference pass: app/prefEstimate.ts) and DPO_EVAL_PASSES pair passes per model;
 * finetuning_type full counts requiredFullStepFlops (weight gradients) over the step plan, recomputed here from the
 * tokenised data, and bare held-out passes and answers.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/app/session';
import { DPO_EVAL_PASSES, estimateCompare } from '../../src/app/compareEstimate';
import { estimatePrefRun } from '../../src/app/prefEstimate';
import { estimateRun } from '../../src/app/runEstimate';
import { defaultSettingsFor } from '../../src/app/training';
import { instructTokenizer } from '../../src/app/datasetPreview';
import { requiredFullStepFlops } from '../../src/engine/plan/flops';
import { planSteps } from '../../src/engine/train/run';
import { prepareSplit } from '../../src/io/tokenizer/prepare';

const DEMO = 'public/demo';
const m = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] }; dataset: { train: string; heldout: string } };

async function session(data: readonly { path: string; file: string }[]): Promise<Session> {
  const s = new Session();
  const models = [...m.base.files.map((f) => `${m.base.name}/${f}`), ...m.instruct.files.map((f) => `${m.instruct.name}/${f}`)].map((path) => ({ path, file: `${DEMO}/${path}` }));
  await s.add(await Promise.all([...models, ...data].map(async ({ path, file }) => ({ path, file: await openAsBlob(file) }))));
  return s;
}

describe('compare estimate per kind', () => {
  it('stage dpo: the preference run and the preference evaluation of five models', async () => {
    const s = await session(['train', 'heldout'].map((k) => ({ path: `story-titles-pref.${k}.trl.jsonl`, file: `../shared/datasets/story-titles-pref.${k}.trl.jsonl` })));
    const settings = { ...defaultSettingsFor(s), stage: 'dpo' as const, maxSteps: 3, batchSize: 2 };
    const e = await estimateCompare(s, settings, { evalPrompts: 4, maxNewTokens: 8 });
    const pref = await estimatePrefRun(s, settings);
    expect(e.kind).toEqual({ stage: 'dpo', finetuningType: 'lora' });
    expect(e.run.totalSteps).toBe(3);
    expect(pref.referenceFlops).toBeGreaterThan(0);
    expect(e.run.trainFlops).toBe(pref.trainFlops);
    expect(e.run.evalPassFlops).toBeCloseTo(DPO_EVAL_PASSES * pref.evalPassFlops, 0);
    expect(DPO_EVAL_PASSES).toBeCloseTo(1.9, 12);
    expect(e.prompts).toBe(4);
  });

  it('finetuning_type full: weight gradients of every micro-batch, bare evaluation', async () => {
    const s = await session([m.dataset.train, m.dataset.heldout].map((path) => ({ path, file: `${DEMO}/${path}` })));
    const lora = { ...defaultSettingsFor(s), maxSteps: 3 };
    const settings = { ...lora, finetuningType: 'full' as const };
    const e = await estimateCompare(s, settings, { evalPrompts: 2, maxNewTokens: 8 });
    const l = await estimateCompare(s, lora, { evalPrompts: 2, maxNewTokens: 8 });
    const pair = s.requirePair();
    const tok = await instructTokenizer(s);
    const train = prepareSplit(tok, s.conversations('train'), [], settings.maxLength, pair.base.config.vocabSize, {}).examples.filter((x) => x.labels.some((v) => v !== -100));
    const want = planSteps(train, settings, tok.padTokenId).flat().reduce((a, b) => a + requiredFullStepFlops(pair.base.config, b.batchSize, b.seqLen, true).total, 0);
    expect(e.kind.finetuningType).toBe('full');
    expect(e.run.trainFlops).toBe(want);
    expect(e.run.trainFlops).toBeGreaterThan(l.run.trainFlops);
    const bare = await estimateRun(s, { ...settings, heldoutRows: Number.MAX_SAFE_INTEGER, lora: { ...settings.lora, targetModules: [] } });
    expect(e.run.evalPassFlops).toBe(bare.evalPassFlops);
    expect(e.run.evalPassFlops).toBeLessThan(l.run.evalPassFlops);
    expect(e.answerFlops).toBeLessThan(l.answerFlops);
  });

  it('refuses DPO with full before estimating', async () => {
    const s = await session([]);
    await expect(estimateCompare(s, { ...defaultSettingsFor(s), stage: 'dpo', finetuningType: 'full' }, { evalPrompts: 1, maxNewTokens: 1 })).rejects.toThrow(/Stage DPO with Fine-tuning type full/);
  });
});
