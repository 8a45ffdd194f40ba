/**
 * Stage dpo on the stories260K demo pair with story-titles-pref (8 training pairs, 4 held-out), the parts of the run
 * around the optimizer steps:
 *  - the reference pass computes only the pairs the step plan uses (--max-steps 3 × 2 pairs = 6 of 8), their values
 *    equal to the bare model's log-probs over all pairs (prefEval splitLogps, an independent piece), and a run resumed
 *    from step 1 still ends bit-identical;
 *  - held-out preference metrics every N steps (evalSteps): 'eval-step' events with the loss and the TRL metrics,
 *    equal to the metrics of the step's LoRA (from the checkpoint at that step) measured with prefEval's pieces, and
 *    the training itself unchanged by them;
 *  - a resumed run does not recompute the untrained models' held-out log-probs: they come from the checkpoint (or the
 *    studio's cache, cachedHeldoutReference) and the 'before' metrics are reported as cached.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/io/checkpoint';
import type { ModelConfig } from '../../src/io/config/types';
import { makePreferenceBatches } from '../../src/io/dataset/prefBatches';
import type { TokenizedPair } from '../../src/io/tokenizer/pairs';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { planPrefSteps, runPreferenceTraining, type PrefTrainJob } from '../../src/engine/train/prefRun';
import { prefEvalOf, splitLengths, splitLogps } from '../../src/engine/train/prefEval';
import { prefOptionsOf } from '../../src/engine/train/prefSettings';
import type { TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/train/checkpointFile';
import type { TrainEvent, TrainSettings } from '../../src/engine/train/types';
import type { LoraModuleWeights } from '../../src/engine/model/loraTypes';
import { createActivations } from '../../src/engine/model/activations';
import { createLoraParams } from '../../src/engine/model/lora';
import { destroyGpuModel, makeGpuModel } from '../../src/engine/model/model';
import { loadModelWeights } from '../../src/engine/model/weights';
import type { GpuContext } from '../../src/engine/gpu/context';
import { testGpu } from './device';
import { demoPrefExamples, openDemoPair } from '../support/demoData';


let ctx: GpuContext;
let cfg: ModelConfig;
let base: Checkpoint;
let instruct: Checkpoint;
let train: TokenizedPair[];
let heldout: TokenizedPair[];
let settings: TrainSettings;
let padTokenId: number;

beforeAll(async () => {
  ctx = await testGpu();
  const pair = await openDemoPair();
  ({ cfg, base, instruct } = pair);
  padTokenId = pair.tok.padTokenId;
  train = await demoPrefExamples(pair, 'story-titles-pref.train.trl.jsonl', 8, 96);
  heldout = await demoPrefExamples(pair, 'story-titles-pref.heldout.trl.jsonl', 4, 96);
  const d = defaultTrainSettings(cfg, train.length);
  settings = { ...d, stage: 'dpo', prefBeta: 0.1, prefLoss: 'sigmoid', prefFtx: 0, lora: { ...d.lora, dropout: 0.1 }, maxSteps: 3, maxLength: 96, batchSize: 2, gradAccum: 1, learningRate: 3e-3, warmupRatio: 0 };
});

function job(extra: Partial<PrefTrainJob>, events: TrainEvent[] = []): PrefTrainJob {
  return { ctx, config: cfg, base, instruct, train, heldout, settings, padTokenId, onEvent: (e) => events.push(e), ...extra };
}

function bits(a: Float32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function same(a: ReadonlyMap<string, LoraModuleWeights>, b: ReadonlyMap<string, LoraModuleWeights>, what: string): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [path, w] of a) {
    const v = b.get(path)!;
    expect(bits(v.a).equals(bits(w.a)), `${what} ${path}.lora_A`).toBe(true);
    expect(bits(v.b).equals(bits(w.b)), `${what} ${path}.lora_B`).toBe(true);
  }
}

/** Held-out log-probs of Base with `params` as LoRA (null: Base alone), through prefEval's own pieces. */
async function heldoutLogps(params: ReadonlyMap<string, LoraModuleWeights> | null) {
  const batches = makePreferenceBatches(heldout, settings.batchSize, { maxLength: settings.maxLength, padTokenId, shuffle: false });
  const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, base));
  const T = Math.max(...batches.map((b) => b.seqLen));
  const acts = createActivations(ctx, cfg, 2 * settings.batchSize, T, settings.lora.r, settings.lora.targetModules, { recompute: false, dropout: false });
  const lora = params ? createLoraParams(ctx, cfg, settings.lora, params) : null;
  try {
    return { logps: (await splitLogps(ctx, model, acts, lora, batches))!, lengths: splitLengths(batches) };
  } finally {
    lora?.destroy();
    acts.destroy();
    destroyGpuModel(model);
  }
}

describe('stage dpo: the reference pass, evaluations during training and resumed before-metrics (demo pair)', () => {
  it('computes the reference log-probs of the planned pairs only, and a resume from step 1 ends bit-identical', async () => {
    const used = new Set(planPrefSteps(train, settings, padTokenId).flat().flatMap((b) => [...b.pairIndex!]));
    expect(used.size).toBe(6);
    const events: TrainEvent[] = [];
    const saved: TrainCheckpoint[] = [];
    const full = await runPreferenceTraining(job({ checkpointEvery: 1, onCheckpoint: async (c) => void saved.push(c) }, events));
    expect(full.status).toBe('complete');
    const refs = events.flatMap((e) => (e.status === 'reference' ? [`${e.batch}/${e.batches}`] : []));
    expect(refs).toEqual(['0/3', '1/3', '2/3', '3/3']);
    const ref = saved[0]!.reference!;
    expect(ref.chosen.length).toBe(8);
    // Independent values: the bare Base's log-probs of every pair, in pair order.
    const all = await (async () => {
      const batches = makePreferenceBatches(train, 2, { maxLength: settings.maxLength, padTokenId, shuffle: false });
      const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, base));
      const acts = createActivations(ctx, cfg, 4, Math.max(...batches.map((b) => b.seqLen)), settings.lora.r, settings.lora.targetModules, { recompute: false, dropout: false });
      try {
        return (await splitLogps(ctx, model, acts, null, batches))!;
      } finally {
        acts.destroy();
        destroyGpuModel(model);
      }
    })();
    for (let i = 0; i < 8; i++) {
      if (used.has(i)) {
        expect(ref.chosen[i]).toBeCloseTo(all.chosen[i]!, 3);
        expect(ref.rejected[i]).toBeCloseTo(all.rejected[i]!, 3);
      } else expect([ref.chosen[i], ref.rejected[i]]).toEqual([NaN, NaN]);
    }
    const back = await decodeCheckpoint(encodeCheckpoint(saved[0]!), 'step-1.safetensors');
    const resumedEvents: TrainEvent[] = [];
    const resumed = await runPreferenceTraining(job({ resume: back, onCheckpoint: async () => {} }, resumedEvents));
    expect(resumedEvents.filter((e) => e.status === 'reference')).toEqual([{ status: 'reference', batch: 3, batches: 3, cached: true }]);
    same(resumed.checkpoint!.params, full.checkpoint!.params, 'params');
    same(resumed.checkpoint!.m, full.checkpoint!.m, 'exp_avg');
    same(resumed.checkpoint!.v, full.checkpoint!.v, 'exp_avg_sq');
    // The untrained Base's held-out log-probs come from the checkpoint: no evaluation of 'base', its metrics cached.
    expect(resumedEvents.some((e) => e.status === 'evaluating' && e.model === 'base')).toBe(false);
    const before = (evs: TrainEvent[]) => evs.find((e) => e.status === 'pref-eval' && e.model === 'base');
    expect(before(resumedEvents)).toEqual({ ...before(events), cached: true });
    const after = (evs: TrainEvent[]) => evs.filter((e) => e.status === 'pref-eval' && e.model !== 'base');
    expect(after(resumedEvents)).toEqual(after(events));
  });

  it('a checkpoint without the reference of a planned pair is refused by name', async () => {
    const saved: TrainCheckpoint[] = [];
    await runPreferenceTraining(job({ settings: { ...settings, maxSteps: 1 }, checkpointEvery: 1, onCheckpoint: async (c) => void saved.push(c) }));
    const c = saved[0]!;
    const chosen = c.reference!.chosen.slice();
    const i = planPrefSteps(train, settings, padTokenId)[0]![0]!.pairIndex![0]!;
    chosen[i] = NaN;
    await expect(runPreferenceTraining(job({ settings: { ...settings, maxSteps: 1 }, resume: { ...c, reference: { ...c.reference!, chosen } } }))).rejects.toThrow(new RegExp(`no reference log-probs for training pair ${i + 1} `));
  });

  it('evaluates the held-out pairs every N steps with the step’s LoRA, without changing the training', async () => {
    const s = { ...settings, maxSteps: 4, evalSteps: 2 };
    const events: TrainEvent[] = [];
    const saved: TrainCheckpoint[] = [];
    const withEval = await runPreferenceTraining(job({ settings: s, checkpointEvery: 2, onCheckpoint: async (c) => void saved.push(c) }, events));
    const plain = await runPreferenceTraining(job({ settings: { ...s, evalSteps: 0 } }));
    const points = events.flatMap((e) => (e.status === 'eval-step' ? [e] : []));
    expect(points.map((p) => `${p.step}/${p.totalSteps}`)).toEqual(['2/4']); // step 4 is the after-training evaluation
    expect(saved[0]!.evalPoints).toEqual([{ step: 2, loss: points[0]!.loss }]);
    same(withEval.adapter.modules, plain.adapter.modules, 'adapter');
    const bare = await heldoutLogps(null);
    const atTwo = await heldoutLogps(saved[0]!.params);
    const want = prefEvalOf(atTwo.logps, bare.logps, bare.lengths, prefOptionsOf(s));
    expect(points[0]!.loss).toBeCloseTo(want.loss, 5);
    expect(points[0]!.metrics!.accuracy).toBeCloseTo(want.metrics.accuracy, 6);
    expect(points[0]!.metrics!.margin).toBeCloseTo(want.metrics.margin, 4);
    expect(points[0]!.metrics!.logpsChosen).toBeCloseTo(want.metrics.logpsChosen, 3);
    // The training steps carry their own preference metrics (TRL's rewards/*, logps/*).
    const steps = events.flatMap((e) => (e.status === 'step' ? [e] : []));
    expect(steps.every((e) => e.metrics !== undefined && Number.isFinite(e.metrics.margin))).toBe(true);
    expect(steps[0]!.metrics!.margin).toBe(0); // B = 0 at init: policy = reference
  });

  it('uses cached held-out reference log-probs of the untrained models instead of computing them', async () => {
    const s = { ...settings, maxSteps: 1 };
    const kept: Record<string, unknown> = {};
    const first: TrainEvent[] = [];
    await runPreferenceTraining(job({ settings: s, onHeldoutReference: (m, l) => void (kept[m] = l) }, first));
    expect(Object.keys(kept).sort()).toEqual(['base', 'instruct']);
    const second: TrainEvent[] = [];
    await runPreferenceTraining(job({ settings: s, cachedHeldoutReference: kept as never }, second));
    expect(second.some((e) => e.status === 'evaluating' && (e.model === 'base' || e.model === 'instruct'))).toBe(false);
    const pe = (evs: TrainEvent[]) => evs.flatMap((e) => (e.status === 'pref-eval' ? [e] : []));
    expect(pe(second).map((e) => e.status === 'pref-eval' && e.cached === true)).toEqual([true, false, true, false]);
    expect(pe(second).map((e) => e.status === 'pref-eval' && e.loss)).toEqual(pe(first).map((e) => e.status === 'pref-eval' && e.loss));
  });
});
