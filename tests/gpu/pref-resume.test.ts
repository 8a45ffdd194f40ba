/**
 * Stage dpo on the stories260K demo pair with story-titles-pref: the reference pass comes first as its own progress
 * stage; a run stopped after 2 steps, saved to one safetensors file (reference log-probs as F64 tensors), decoded
 * and resumed to 4 takes the reference from the checkpoint (no recomputation) and ends bit-identical (LoRA A/B, AdamW
 * m/v) to an uninterrupted run; the held-out preference metrics are reported for Base, Base + LoRA, Instruct and
 * Instruct + graft.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/io/checkpoint';
import type { ModelConfig } from '../../src/io/config/types';
import type { TokenizedPair } from '../../src/io/tokenizer/pairs';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { runPreferenceTraining, type PrefTrainJob } from '../../src/engine/train/prefRun';
import type { TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/train/checkpointFile';
import type { TrainEvent, TrainSettings } from '../../src/engine/train/types';
import type { LoraModuleWeights } from '../../src/engine/model/loraTypes';
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
  settings = { ...d, stage: 'dpo', prefBeta: 0.1, prefLoss: 'sigmoid', prefFtx: 0, lora: { ...d.lora, dropout: 0.1 }, maxSteps: 4, maxLength: 96, batchSize: 2, gradAccum: 2, learningRate: 3e-3, warmupRatio: 0.25 };
});

function job(extra: Partial<PrefTrainJob>, events: TrainEvent[] = []): PrefTrainJob {
  return { ctx, config: cfg, base, instruct, train, heldout, settings, padTokenId, onEvent: (e) => events.push(e), ...extra };
}

function same(a: ReadonlyMap<string, LoraModuleWeights>, b: ReadonlyMap<string, LoraModuleWeights>, what: string): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [path, w] of a) {
    const v = b.get(path)!;
    expect(Buffer.from(v.a.buffer, v.a.byteOffset, v.a.byteLength).equals(Buffer.from(w.a.buffer, w.a.byteOffset, w.a.byteLength)), `${what} ${path}.lora_A`).toBe(true);
    expect(Buffer.from(v.b.buffer, v.b.byteOffset, v.b.byteLength).equals(Buffer.from(w.b.buffer, w.b.byteOffset, w.b.byteLength)), `${what} ${path}.lora_B`).toBe(true);
  }
}

describe('stage dpo: reference pass, checkpoint and resume (demo pair)', () => {
  it('an interrupted DPO run resumed from its encoded checkpoint ends bit-identical, reusing the stored reference', async () => {
    expect(train.length).toBe(8);
    const events: TrainEvent[] = [];
    const saved: TrainCheckpoint[] = [];
    const full = await runPreferenceTraining(job({ checkpointEvery: 2, onCheckpoint: async (c) => void saved.push(c) }, events));
    expect(full.status).toBe('complete');
    expect(saved.map((c) => c.step)).toEqual([2, 4]);
    // The reference pass comes before the first step and reports every batch.
    const firstStep = events.findIndex((e) => e.status === 'step');
    const refs = events.flatMap((e, i) => (e.status === 'reference' ? [[i, e.batch, e.batches] as const] : []));
    expect(refs.map(([, b, n]) => `${b}/${n}`)).toEqual(['0/4', '1/4', '2/4', '3/4', '4/4']);
    expect(refs.every(([i]) => i < firstStep)).toBe(true);
    const prefEvals = events.flatMap((e) => (e.status === 'pref-eval' ? [e] : []));
    expect(prefEvals.map((e) => `${e.model}/${e.when}`)).toEqual(['base/before', 'base+lora/after', 'instruct/before', 'instruct+graft/after']);
    expect(prefEvals[0]!.metrics.accuracy).toBe(0);
    expect(Number.isFinite(prefEvals[3]!.metrics.margin) && prefEvals[3]!.metrics.margin !== 0).toBe(true);
    const losses = events.flatMap((e) => (e.status === 'step' ? [e.loss] : []));
    expect(losses[0]).toBeCloseTo(Math.log(2), 5); // PEFT init: B = 0, policy = reference, −log σ(0)

    const atTwo = saved[0]!;
    expect(atTwo.reference?.chosen.length).toBe(8);
    const file = encodeCheckpoint(atTwo);
    const back = await decodeCheckpoint(file, 'step-2.safetensors');
    expect(Buffer.from(back.reference!.chosen.buffer).equals(Buffer.from(atTwo.reference!.chosen.buffer))).toBe(true);
    expect(Buffer.from(back.reference!.rejected.buffer).equals(Buffer.from(atTwo.reference!.rejected.buffer))).toBe(true);
    const resumedEvents: TrainEvent[] = [];
    const resumed = await runPreferenceTraining(job({ resume: back, onCheckpoint: async () => {} }, resumedEvents));
    expect(resumed.status).toBe('complete');
    expect(resumedEvents.filter((e) => e.status === 'reference')).toEqual([{ status: 'reference', batch: 4, batches: 4, cached: true }]);
    const end = resumed.checkpoint!;
    same(end.params, full.checkpoint!.params, 'params');
    same(end.m, full.checkpoint!.m, 'exp_avg');
    same(end.v, full.checkpoint!.v, 'exp_avg_sq');
    expect(end.history.map((p) => p.loss)).toEqual(full.checkpoint!.history.map((p) => p.loss));
  });

  it('refuses a run whose stage is not dpo, and a bad pref_beta', async () => {
    await expect(runPreferenceTraining(job({ settings: { ...settings, stage: 'sft' } }))).rejects.toThrow(/needs stage dpo, got sft/);
    await expect(runPreferenceTraining(job({ settings: { ...settings, prefBeta: -1 } }))).rejects.toThrow(/pref_beta must be a positive number, got -1/);
  });
});
