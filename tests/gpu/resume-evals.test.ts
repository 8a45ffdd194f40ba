/**
 * What a resumed run keeps of the held-out evaluations (issue 20, fault 2 / note (e)): a before-training loss taken
 * from the cache of an earlier run is written into the checkpoint, so a resume after a reload (empty cache) does not
 * compute it again; held-out losses measured during training (evalSteps) travel in the checkpoint file and come back
 * in the 'resumed' event. Demo pair (stories260K), 4 steps.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../src/io/checkpoint';
import type { ModelConfig } from '../../src/io/config/types';
import type { TokenizedExample } from '../../src/io/dataset/types';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { runTraining, type TrainJob } from '../../src/engine/train/run';
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
  ({ cfg, base } = pair);
  instruct = pair.instruct;
  padTokenId = pair.tok.padTokenId;
  train = await demoExamples(pair, 'story-titles.train.alpaca.json', 8, 48);
  heldout = await demoExamples(pair, 'story-titles.heldout.alpaca.json', 3, 48);
  const d = defaultTrainSettings(cfg, train.length);
  settings = { ...d, maxSteps: 4, maxLength: 48, batchSize: 2, gradAccum: 1, learningRate: 3e-3, warmupRatio: 0, evalSteps: 1 };
});

function job(extra: Partial<TrainJob>, events: TrainEvent[]): TrainJob {
  return { ctx, config: cfg, base, instruct, train, heldout, settings, padTokenId, onEvent: (e) => events.push(e), ...extra };
}

const evaluations = (ev: TrainEvent[]) => ev.filter((e) => e.status === 'evaluating' && e.batch === 0).map((e) => (e as { model?: string }).model);

describe('resume keeps the held-out evaluations', () => {
  it('a cached Base loss and the losses during training are in the checkpoint; the resume computes neither again', async () => {
    const first: TrainEvent[] = [];
    const c = new AbortController();
    const stopped = await runTraining(job({
      signal: c.signal, checkpointEvery: 1, onCheckpoint: async () => {}, cachedEval: { base: 2.5 },
      onEvent: (e) => {
        first.push(e);
        if (e.status === 'eval-step' && e.step === 2) c.abort();
      },
    }, first));
    expect(stopped.status).toBe('cancelled');
    const saved = await decodeCheckpoint(encodeCheckpoint(stopped.checkpoint!), 'ckpt.safetensors');
    expect(saved.step).toBe(2);
    // The Base loss came from the cache: not computed, yet kept in the run's state.
    expect(evaluations(first)).not.toContain('base');
    expect(saved.evals).toContainEqual({ model: 'base', when: 'before', loss: 2.5 });
    const during = first.filter((e): e is Extract<TrainEvent, { status: 'eval-step' }> => e.status === 'eval-step');
    expect(during.map((e) => e.step)).toEqual([1, 2]);
    expect(saved.evalPoints).toEqual(during.map((e) => ({ step: e.step, loss: e.loss })));

    // Resumed after a "reload": no cache given.
    const second: TrainEvent[] = [];
    const done = await runTraining(job({ resume: saved, onCheckpoint: async () => {} }, second));
    expect(done).toMatchObject({ status: 'complete', steps: 4 });
    expect(second.find((e) => e.status === 'resumed')).toMatchObject({ step: 2, evalPoints: saved.evalPoints });
    expect(second.find((e) => e.status === 'eval' && e.model === 'base')).toMatchObject({ loss: 2.5, cached: true });
    expect(evaluations(second)).toEqual(['base+lora', 'instruct', 'instruct+graft']);
    expect(second.filter((e) => e.status === 'eval-step').map((e) => (e as { step: number }).step)).toEqual([3]);
    expect(done.checkpoint!.evalPoints!.map((p) => p.step)).toEqual([1, 2, 3]);
  });
});
