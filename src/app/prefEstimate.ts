/**
 * The estimate of a stage-dpo run (app/runEstimate.ts RunEstimate): optimizer steps of the preference plan
 * (engine/train/prefRun.ts planPrefSteps: batchSize pairs = 2·batchSize sequences per micro-batch), the required
 * FLOPs of the steps (forward + backward over both sequences of every pair, engine/plan/flops.ts) plus the reference
 * pass (one forward of every training pair with the adapter off), and the held-out passes (Base, Base + LoRA,
 * Instruct, Instruct + graft over the held-out pairs).
 */
import { makePreferenceBatches } from '../io/dataset/prefBatches';
import { preparePairSplit } from '../io/tokenizer/pairs';
import { planPrefSteps } from '../engine/train/prefRun';
import { checkSchedule } from '../engine/train/scheduleWarnings';
import type { TrainSettings } from '../engine/train/types';
import { instructTokenizer } from './datasetPreview';
import { flopsOf, type RunEstimate } from './runEstimate';
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
  const refB = train.length ? makePreferenceBatches(train, settings.batchSize, opts) : [];
  const evalB = heldout.length ? makePreferenceBatches(heldout, settings.batchSize, opts) : [];
  const bare = { ...settings, lora: { ...settings.lora, targetModules: [] } };
  const referenceFlops = flopsOf(cfg, bare, refB, true);
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
    // Stage dpo evaluates its held-out pairs before and after training only (no Evaluate every N steps).
    evalsDuringTraining: 0,
    cachedEvals: { base: false, instruct: false },
    baseBytes: pair.base.checkpoint.totalBytes,
    instructBytes: pair.instruct.checkpoint.totalBytes,
    referenceFlops,
    // Stage dpo evaluates every held-out pair (Held-out rows applies to SFT runs); each row of a pair is a sequence.
    heldoutRows: { used: heldout.length, available: heldout.length, auto: false },
    heldoutMeanTokens: heldout.length ? heldout.reduce((a, p) => a + Math.min(p.chosen.inputIds.length, settings.maxLength) + Math.min(p.rejected.inputIds.length, settings.maxLength), 0) / (2 * heldout.length) : 0,
    evalBatchTokens: 2 * settings.batchSize * settings.maxLength,
  };
}
