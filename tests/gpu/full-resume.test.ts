/**
 * Checkpoint + resume of a full-parameter run (finetuning_type full) on the stories260K demo pair: a run cancelled
 * after step 2, its state encoded to one safetensors file, decoded and resumed to step 4, ends with bit-identical f32
 * masters W_B′ and AdamW m / v to an uninterrupted 4-step run (and the same returned tensors and held-out losses).
 * A LoRA checkpoint is refused by a full run (and a full one by a different Train embeddings).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/io/checkpoint';
import type { ModelConfig } from '../../src/io/config/types';
import type { TokenizedExample } from '../../src/io/dataset/types';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import type { TrainJob } from '../../src/engine/train/run';
import { runFullTraining } from '../../src/engine/train/runFull';
import type { FullState, TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/train/checkpointFile';
import type { TrainEvent, TrainSettings } from '../../src/engine/train/types';
import type { GpuContext } from '../../src/engine/gpu/context';
import { testGpu } from './device';
import { demoExamples, openDemoPair } from '../support/demoData';


let ctx: GpuContext;
let cfg: ModelConfig;
let base: Checkpoint;
let instruct: Checkpoint;
let train: TokenizedExample[];
let heldout: TokenizedExample[];
let settings: TrainSettings;
let padTokenId: number;

beforeAll(async () => {
  ctx = await testGpu();
  const pair = await openDemoPair();
  ({ cfg, base, instruct } = pair);
  padTokenId = pair.tok.padTokenId;
  train = await demoExamples(pair, 'story-titles.train.alpaca.json', 12, 48);
  heldout = await demoExamples(pair, 'story-titles.heldout.alpaca.json', 4, 48);
  const d = defaultTrainSettings(cfg, train.length);
  settings = { ...d, finetuningType: 'full', maxSteps: 4, maxLength: 48, batchSize: 2, gradAccum: 2, learningRate: 1e-3, warmupRatio: 0.25 };
});

function job(extra: Partial<TrainJob>, events: TrainEvent[] = []): TrainJob {
  return { ctx, config: cfg, base, instruct, train, heldout, settings, padTokenId, onEvent: (e) => events.push(e), ...extra };
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
function expectSame(a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>, what: string): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, x] of a) expect(bytes(b.get(name)!).equals(bytes(x)), `${what} ${name}`).toBe(true);
}
function expectSameState(a: FullState, b: FullState): void {
  expectSame(a.params, b.params, 'master');
  expectSame(a.m, b.m, 'exp_avg');
  expectSame(a.v, b.v, 'exp_avg_sq');
}
const evalLoss = (ev: TrainEvent[], model: string) => ev.find((e): e is Extract<TrainEvent, { status: 'eval' }> => e.status === 'eval' && e.model === model)?.loss;

describe('full-parameter checkpoint and resume (demo pair)', () => {
  let atTwo: TrainCheckpoint;

  it('a cancelled run resumed from its encoded checkpoint ends bit-identical to an uninterrupted one', async () => {
    const fullEvents: TrainEvent[] = [];
    const saved: TrainCheckpoint[] = [];
    const r = await runFullTraining(job({ checkpointEvery: 10, onCheckpoint: async (c) => void saved.push(c) }, fullEvents));
    expect(r).toMatchObject({ status: 'complete', steps: 4, totalSteps: 4 });
    expect(saved.map((c) => c.step)).toEqual([4]);
    const end = r.checkpoint!;
    expect(end.full).toBeDefined();
    expect(end.params.size).toBe(0);
    // Every tensor of the table is trained (embeddings included) and the moments moved: the comparison can fail.
    expect(end.full!.params.size).toBe([...r.tensors.keys()].length);
    expect([...end.full!.m.values()].some((m) => m.some((x) => x !== 0))).toBe(true);
    // The checkpoint's masters are W_B′ (taken before the evaluations grafted the Instruct in).
    expectSame(end.full!.params, r.tensors, 'checkpoint vs result');

    const c = new AbortController();
    const every: TrainCheckpoint[] = [];
    const stopped = await runFullTraining(job({
      signal: c.signal, checkpointEvery: 1, onCheckpoint: async (ck) => void every.push(ck),
      onEvent: (e) => { if (e.status === 'step' && e.step === 2) c.abort(); },
    }));
    expect(stopped).toMatchObject({ status: 'cancelled', steps: 2 });
    expect(every.map((x) => x.step)).toEqual([1, 2, 2]);
    atTwo = stopped.checkpoint!;
    expect(atTwo.history).toEqual(end.history.slice(0, 2));

    const blob = encodeCheckpoint(atTwo);
    const trainable = [...atTwo.full!.params.values()].reduce((a, t) => a + t.length, 0);
    // 12 bytes per trainable parameter plus the header.
    expect(blob.size).toBeGreaterThanOrEqual(12 * trainable);
    expect(blob.size).toBeLessThan(12 * trainable + (1 << 16));
    const decoded = await decodeCheckpoint(blob, 'full.safetensors');
    const resumedEvents: TrainEvent[] = [];
    const resumed = await runFullTraining(job({ resume: decoded, onCheckpoint: async () => {} }, resumedEvents));
    expect(resumed).toMatchObject({ status: 'complete', steps: 4, totalSteps: 4 });
    expect(resumedEvents.find((e) => e.status === 'resumed')).toMatchObject({ step: 2, totalSteps: 4 });
    expect(resumedEvents.filter((e) => e.status === 'step').map((e) => (e as { step: number }).step)).toEqual([3, 4]);
    expectSameState(resumed.checkpoint!.full!, end.full!);
    expectSame(resumed.tensors, r.tensors, 'W_B′');
    expect(resumed.checkpoint!.history).toEqual(end.history);
    expect(resumedEvents.find((e) => e.status === 'eval' && e.model === 'base')).toMatchObject({ cached: true });
    expect(evalLoss(resumedEvents, 'base+lora')).toBe(evalLoss(fullEvents, 'base+lora'));
    expect(evalLoss(resumedEvents, 'instruct+graft')).toBe(evalLoss(fullEvents, 'instruct+graft'));
  });

  it('refuses a LoRA state and a state of another Train embeddings by name', async () => {
    const lora = await runFullTraining(job({ resume: { ...atTwo, settings: { ...settings, finetuningType: 'lora' } } })).catch((e: unknown) => e);
    expect(lora).toMatchObject({ name: 'CheckpointMismatchError', field: 'settings.finetuningType' });
    const frozen = await runFullTraining(job({ resume: atTwo, settings: { ...settings, trainEmbeddings: false } })).catch((e: unknown) => e);
    expect(frozen).toMatchObject({ name: 'CheckpointMismatchError', field: 'settings.trainEmbeddings' });
  });
});
