/**
 * Checkpoint + resume on the stories260K demo pair: a run stopped after k steps, saved to one safetensors file,
 * decoded and resumed to N gives bit-identical LoRA A/B and AdamW m/v to an uninterrupted N-step run (our kernels
 * are deterministic, the data order and dropout masks are functions of seed and step). A checkpoint of other
 * settings, data, model or app version is refused by name.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/io/checkpoint';
import type { ModelConfig } from '../../src/io/config/types';
import type { TokenizedExample } from '../../src/io/dataset/types';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { runTraining, type TrainJob } from '../../src/engine/train/run';
import { CheckpointMismatchError, type TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/train/checkpointFile';
import type { TrainEvent, TrainSettings } from '../../src/engine/train/types';
import type { LoraModuleWeights } from '../../src/engine/model/loraTypes';
import type { GpuContext } from '../../src/engine/gpu/context';
import { testGpu } from './device';
import { demoExamples, openDemoPair } from '../support/demoData';


let ctx: GpuContext;
let cfg: ModelConfig;
let base: Checkpoint;
let train: TokenizedExample[];
let heldout: TokenizedExample[];
let settings: TrainSettings;
let padTokenId: number;

beforeAll(async () => {
  ctx = await testGpu();
  const pair = await openDemoPair();
  ({ cfg, base } = pair);
  padTokenId = pair.tok.padTokenId;
  train = await demoExamples(pair, 'story-titles.train.alpaca.json', 12, 48);
  heldout = await demoExamples(pair, 'story-titles.heldout.alpaca.json', 4, 48);
  // gradAccum 2 exercises the per-micro-batch cancel check; dropout exercises the counter-based masks.
  const d = defaultTrainSettings(cfg, train.length);
  settings = { ...d, lora: { ...d.lora, dropout: 0.1 }, maxSteps: 4, maxLength: 48, batchSize: 2, gradAccum: 2, learningRate: 3e-3, warmupRatio: 0.25 };
});

function job(extra: Partial<TrainJob>, events: TrainEvent[] = []): TrainJob {
  return { ctx, config: cfg, base, train, heldout, settings, padTokenId, onEvent: (e) => events.push(e), ...extra };
}

function expectSameTensors(a: ReadonlyMap<string, LoraModuleWeights>, b: ReadonlyMap<string, LoraModuleWeights>, what: string): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [path, w] of a) {
    const v = b.get(path)!;
    expect(Buffer.from(v.a.buffer, v.a.byteOffset, v.a.byteLength).equals(Buffer.from(w.a.buffer, w.a.byteOffset, w.a.byteLength)), `${what} ${path}.lora_A`).toBe(true);
    expect(Buffer.from(v.b.buffer, v.b.byteOffset, v.b.byteLength).equals(Buffer.from(w.b.buffer, w.b.byteOffset, w.b.byteLength)), `${what} ${path}.lora_B`).toBe(true);
  }
}

describe('checkpoint and resume (demo pair)', () => {
  let full: TrainCheckpoint;
  let atTwo: TrainCheckpoint;

  it('an interrupted run resumed from its encoded checkpoint ends bit-identical to an uninterrupted one', async () => {
    const fullEvents: TrainEvent[] = [];
    const saved: TrainCheckpoint[] = [];
    const r = await runTraining(job({ checkpointEvery: 10, onCheckpoint: async (c) => void saved.push(c) }, fullEvents));
    expect(r.status).toBe('complete');
    expect(r.steps).toBe(4);
    full = r.checkpoint!;
    expect(full.step).toBe(4);
    expect(saved.map((c) => c.step)).toEqual([4]);
    // The loss curve is not flat zero and the moments are not zero: the comparison below can fail.
    expect(full.history.map((p) => p.step)).toEqual([1, 2, 3, 4]);
    expect([...full.m.values()].some((w) => w.a.some((x) => x !== 0))).toBe(true);

    // Cancelled after step 2 (the abort lands while step 3's first micro-batch is on the GPU).
    const c = new AbortController();
    const partEvents: TrainEvent[] = [];
    const every: TrainCheckpoint[] = [];
    const stopped = await runTraining(job({
      signal: c.signal, checkpointEvery: 1,
      onCheckpoint: async (ck) => void every.push(ck),
      onEvent: (e) => {
        partEvents.push(e);
        if (e.status === 'step' && e.step === 2) c.abort();
      },
    }));
    expect(stopped.status).toBe('cancelled');
    expect(stopped.steps).toBe(2);
    expect(every.map((x) => x.step)).toEqual([1, 2, 2]);
    expect(partEvents.filter((e) => e.status === 'step').length).toBe(2);
    atTwo = stopped.checkpoint!;
    expect(atTwo.step).toBe(2);
    expect(atTwo.history).toEqual(full.history.slice(0, 2));

    const decoded = await decodeCheckpoint(encodeCheckpoint(atTwo), 'ckpt.safetensors');
    const resumedEvents: TrainEvent[] = [];
    const resumed = await runTraining(job({ resume: decoded, onCheckpoint: async () => {} }, resumedEvents));
    expect(resumed).toMatchObject({ status: 'complete', steps: 4, totalSteps: 4 });
    expect(resumedEvents.find((e) => e.status === 'resumed')).toMatchObject({ step: 2, totalSteps: 4 });
    expect(resumedEvents.filter((e) => e.status === 'step').map((e) => (e as { step: number }).step)).toEqual([3, 4]);
    const end = resumed.checkpoint!;
    expectSameTensors(end.params, full.params, 'params');
    expectSameTensors(end.m, full.m, 'exp_avg');
    expectSameTensors(end.v, full.v, 'exp_avg_sq');
    expectSameTensors(resumed.adapter.modules, r.adapter.modules, 'adapter');
    expect(end.history).toEqual(full.history);
    // The held-out loss of Base before training is taken from the checkpoint, not recomputed.
    expect(resumedEvents.find((e) => e.status === 'eval' && e.model === 'base')).toMatchObject({ cached: true });
    const after = (ev: TrainEvent[]) => ev.find((e): e is Extract<TrainEvent, { status: 'eval' }> => e.status === 'eval' && e.model === 'base+lora')!.loss;
    expect(after(resumedEvents)).toBe(after(fullEvents));
  });

  it('a cancel between the micro-batches of a step stops there and leaves the state of the steps done', async () => {
    // A signal that aborts at its 8th check: trainStep checks before a step, after each micro-batch but the last,
    // and before the optimizer (3 checks per step with 2 micro-batches), so the 8th is step 3 after its first
    // micro-batch ran on the GPU.
    let checks = 0;
    let aborted = false;
    const reason = new DOMException('Cancelled by the test', 'AbortError');
    const signal = {
      get aborted() {
        return aborted;
      },
      reason,
      throwIfAborted() {
        if (++checks === 8) aborted = true;
        if (aborted) throw reason;
      },
      addEventListener() {},
      removeEventListener() {},
    } as unknown as AbortSignal;
    const events: TrainEvent[] = [];
    const r = await runTraining(job({ signal, heldout: [] }, events));
    expect(checks).toBe(8);
    expect(r).toMatchObject({ status: 'cancelled', steps: 2, totalSteps: 4 });
    expect(events.filter((e) => e.status === 'step').length).toBe(2);
    expect(events.at(-1)).toMatchObject({ status: 'cancelled', steps: 2 });
    // The half-done step 3 changed nothing: the state is the one after step 2.
    expectSameTensors(r.checkpoint!.params, atTwo.params, 'params');
    expectSameTensors(r.checkpoint!.m, atTwo.m, 'exp_avg');
    expectSameTensors(r.checkpoint!.v, atTwo.v, 'exp_avg_sq');
    // Without onCheckpoint the identities are computed at the cancel: the state can be resumed.
    expect(r.checkpoint!.modelId).toBe(atTwo.modelId);
    expect(r.checkpoint!.dataId).toBe(atTwo.dataId);
  });

  it('refuses a checkpoint of other settings, data, model or app version by name', async () => {
    const refusal = (extra: Partial<TrainJob>) => runTraining(job(extra)).then(() => null, (e: unknown) => e);
    const lr = await refusal({ resume: atTwo, settings: { ...settings, learningRate: 1e-3 } });
    expect(lr).toBeInstanceOf(CheckpointMismatchError);
    expect(lr).toMatchObject({ field: 'settings.learningRate', checkpointValue: '0.003', expectedValue: '0.001' });
    const data = await refusal({ resume: atTwo, train: train.slice(1) });
    expect(data).toMatchObject({ name: 'CheckpointMismatchError', field: 'training data' });
    const model = await refusal({ resume: atTwo, modelId: 'sha256-ends:another-model' });
    expect(model).toMatchObject({ name: 'CheckpointMismatchError', field: 'model' });
    expect((model as Error).message).toContain('another-model');
    const version = await refusal({ resume: { ...atTwo, appVersion: '0.0.1' } });
    expect(version).toMatchObject({ name: 'CheckpointMismatchError', field: 'app version', checkpointValue: '0.0.1' });
    const steps = await refusal({ resume: atTwo, settings: { ...settings, maxSteps: 5 } });
    expect(steps).toMatchObject({ field: 'settings.maxSteps' });
  });

  it('a failing save stops the run with the cause, unless the caller goes on without checkpoints', async () => {
    const events: TrainEvent[] = [];
    const err = await runTraining(job({ checkpointEvery: 1, onCheckpoint: async () => { throw new Error('QuotaExceededError: disk full'); } }, events)).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'CheckpointSaveError' });
    expect((err as Error).message).toContain('disk full');
    expect(events.find((e) => e.status === 'checkpoint')).toMatchObject({ step: 1, error: 'QuotaExceededError: disk full' });
    expect(events.filter((e) => e.status === 'step').length).toBe(1);
    const goOn = await runTraining(job({ settings: { ...settings, maxSteps: 2 }, checkpointEvery: 1, continueWithoutCheckpoints: true, onCheckpoint: async () => { throw new Error('denied'); } }));
    expect(goOn).toMatchObject({ status: 'complete', steps: 2 });
  });
});
