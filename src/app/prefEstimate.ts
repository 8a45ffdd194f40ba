/**
 * The estimate of a stage-dpo run (app/runEstimate.ts RunEstimate): optimizer steps of the preference plan
 * (engine/train/prefRun.ts planPrefSteps: batchSize pairs = 2·batchSize sequences per micro-batch), the required
 * FLOPs of the steps (forward + backward over both sequences of every pair, engine/plan/flops.ts) plus the reference
 * pass (one forward with the adapter off of every training pair the step plan uses, engine/train/prefReference.ts),
 * and the held-out passes (Base, Base + LoRA, Instruct, Instruct + graft over the held-out pairs, less those whose
 * untrained log-probs are remembered, app/prefEvalCacheStore.ts; plus one every Evaluate every steps).
 */
import { makePreferenceBatches } from '../io/dataset/prefBatches';
import { preparePairSplit } from '../io/tokenizer/pairs';
import { planPrefSteps } from '../engine/train/prefRun';
import { plannedPairs, referenceBatches } from '../engine/train/prefReference';
import { getPrefReference, prefHeldoutKey, restorePrefEvalCache } from './prefEvalCacheStore';
import { checkSchedule } from '../engine/train/scheduleWarnings';
import type { TrainSettings } from '../engine/train/types';
import { instructTokenizer } from './datasetPreview';
import { evalsDuringTraining, flopsOf, type RunEstimate } from './runEstimate';
import type { Session } from './session';

/**
 * Estimates a stage-dpo run on the loaded pair and the ticked preference datasets.
 * @throws Error when no pair is loaded; TokenizerError naming the pair
 */
export async function estimatePrefRun(session: Session, settings: TrainSettings): Promise<RunEstimate> {
  const pair = session.requirePair();
  const tok = await instructTokenizer(session);
  const vocab = Math.min(pair.base.config.vocabSize, pair.instruct.config.vocabSize);
  const kwargs = settings.chatTemplateKwargs ?? {};
  const trainPairs = session.pairs('train');
  const heldoutPairs = session.pairs('heldout');
  const train = preparePairSplit(tok, trainPairs, session.skippedRows('train'), settings.maxLength, vocab, kwargs).examples;
  const heldout = heldoutPairs.length ? preparePairSplit(tok, heldoutPairs, session.skippedRows('heldout'), settings.maxLength, vocab, kwargs).examples : [];
  const cfg = pair.base.config;
  const plan = train.length ? planPrefSteps(train, settings, tok.padTokenId) : [];
  const micro = plan.flat();
  const opts = { maxLength: settings.maxLength, padTokenId: tok.padTokenId, shuffle: false };
  const refB = train.length ? referenceBatches(train, plannedPairs(plan), settings.batchSize, opts) : [];
  const evalB = heldout.length ? makePreferenceBatches(heldout, settings.batchSize, opts) : [];
  const bare = { ...settings, lora: { ...settings.lora, targetModules: [] } };
  const referenceFlops = flopsOf(cfg, bare, refB, true);
  await restorePrefEvalCache();
  const key = heldout.length ? prefHeldoutKey(heldout, settings.maxLength) : '';
  return {
    totalSteps: plan.length,
    schedule: checkSchedule(plan.length, settings.warmupRatio, settings.learningRate),
    conversations: 2 * (trainPairs.length + heldoutPairs.length),
    trainExamples: train.length,
    microBatches: micro.length,
    trainFlops: flopsOf(cfg, settings, micro, false) + referenceFlops,
    evalPassFlops: (flopsOf(cfg, settings, evalB, true) + flopsOf(cfg, bare, evalB, true)) / 2,
    evalBatches: evalB.length,
    evalPasses: evalB.length ? 4 : 0,
    evalsDuringTraining: evalB.length ? evalsDuringTraining(plan.length, settings.evalSteps ?? 0, true) : 0,
    cachedEvals: { base: evalB.length > 0 && getPrefReference(pair.baseId, key) !== undefined, instruct: evalB.length > 0 && getPrefReference(pair.instructId, key) !== undefined },
    baseBytes: pair.base.checkpoint.totalBytes,
    instructBytes: pair.instruct.checkpoint.totalBytes,
    referenceFlops,
    // Stage dpo evaluates every held-out pair (Held-out rows applies to SFT runs); each row of a pair is a sequence.
    heldoutRows: { used: heldout.length, available: heldout.length, auto: false },
    heldoutMeanTokens: heldout.length ? heldout.reduce((a, p) => a + Math.min(p.chosen.inputIds.length, settings.maxLength) + Math.min(p.rejected.inputIds.length, settings.maxLength), 0) / (2 * heldout.length) : 0,
    evalBatchTokens: 2 * settings.batchSize * settings.maxLength,
  };
}
