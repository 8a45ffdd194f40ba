/**
 * The studio API (app/studio.ts) on the demo pair in Node: the run estimate's step count (app/runEstimate.ts) equals
 * the steps the run reports, its phase events carry the phases the progress bar weighs, the session cannot change
 * while training (every change is refused with an Error naming it, and the run goes on), and cancelling between
 * steps stops within one micro-batch (Gradient accumulation 1).
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createStudio } from '../../src/app/studio';
import type { TrainEvent } from '../../src/app/progress';
import { nodeGpuApi } from '../../src/node/gpu';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] }; dataset: { train: string; heldout: string } };
const paths = [...manifest.base.files.map((f) => `${manifest.base.name}/${f}`), ...manifest.instruct.files.map((f) => `${manifest.instruct.name}/${f}`), manifest.dataset.train];

describe('studio runs', () => {
  it('estimate = steps run; session changes refused while training; cancel stops within one micro-batch', async () => {
    const gpu = await nodeGpuApi();
    const studio = createStudio(() => gpu);
    await studio.addFiles(await Promise.all(paths.map(async (path) => ({ path, file: await openAsBlob(`${DEMO}/${path}`) }))));
    const settings = { ...studio.defaultSettings(), maxSteps: 3, batchSize: 2, gradAccum: 1, maxLength: 64, warmupRatio: 0 };
    const est = await studio.estimateRun(settings);
    expect(est.totalSteps).toBe(3);
    expect(est.microBatches).toBe(3);
    expect(est.trainFlops).toBeGreaterThan(0);
    expect(est.evalPasses).toBe(0); // no held-out file dropped
    const events: TrainEvent[] = [];
    const outcome = await studio.train(1, settings, (e) => events.push(e));
    expect(outcome.status).toBe('done');
    expect(events.filter((e) => e.status === 'step').length).toBe(est.totalSteps);
    const phases = events.flatMap((e) => (e.status === 'preparing' && e.phase ? [e.phase] : []));
    expect(phases).toEqual(['tokenise', 'load']);

    // A long run: every session change is refused while it runs; Cancel after step 2 stops by step 3.
    const long = { ...settings, maxSteps: 50 };
    const seen: TrainEvent[] = [];
    let refusals: string[] = [];
    const running = studio.train(2, long, (e) => {
      seen.push(e);
      if (e.status === 'step' && e.step === 2) studio.cancel(2);
    });
    expect(studio.isTraining()).toBe(true);
    const results = await Promise.allSettled([studio.clearFiles(), studio.swapRoles(), studio.addFiles([]), studio.removeDataset(manifest.dataset.train), studio.setDatasetEnabled(manifest.dataset.train, false)]);
    refusals = results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'accepted'));
    expect(refusals.every((m) => m.includes('refused while training'))).toBe(true);
    expect(refusals[0]).toContain('Clear');
    const r = await running;
    expect(r.status).toBe('cancelled');
    expect(r.steps).toBeLessThanOrEqual(3);
    expect(studio.isTraining()).toBe(false);
    // The session is intact and usable after the run.
    expect((await studio.swapRoles()).pairReady).toBe(true);
  });
});
