/**
 * The speed warm-up of a first run (app/speedWarmup.ts, issue 20 fault 6) through the studio API in Node on the demo
 * pair at its default settings: it measures a speed from the run's own steps (how well that predicts the run's steps
 * is printed, not asserted: house rule, no timed assertions in tests), and a training run started while a warm-up is
 * under way stops it and runs (the warm-up rejects with an AbortError).
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createStudio } from '../../src/app/studio';
import type { TrainEvent } from '../../src/app/progress';
import { nodeGpuApi } from '../../src/node/gpu';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] }; dataset: { train: string; heldout: string } };
const paths = [...manifest.base.files.map((f) => `${manifest.base.name}/${f}`), ...manifest.instruct.files.map((f) => `${manifest.instruct.name}/${f}`), manifest.dataset.train];

describe('speed warm-up', () => {
  it('measures the run\'s own steps and gives way to a run', async () => {
    const gpu = await nodeGpuApi();
    const studio = createStudio(() => gpu);
    await studio.addFiles(await Promise.all(paths.map(async (path) => ({ path, file: await openAsBlob(`${DEMO}/${path}`) }))));
    const settings = { ...studio.defaultSettings(), maxSteps: 10 };
    const sample = await studio.measureSpeed(1, settings);
    expect(sample.flopsPerSec).toBeGreaterThan(0);
    expect(sample.B).toBe(settings.batchSize);
    expect(sample.warmupSec).toBeGreaterThan(sample.stepSec);
    // The decode part (app/decodeWarmup.ts): a prompt of the run's data, timed new tokens (no stop token).
    expect(sample.decode?.secPerToken).toBeGreaterThan(0);
    expect(sample.decode?.promptTokens).toBeGreaterThan(0);
    console.log(`warm-up: training ${(sample.flopsPerSec / 1e9).toFixed(3)} GFLOP/s, decode ${(1000 * (sample.decode?.secPerToken ?? 0)).toFixed(1)} ms per token`);

    // How well it predicts the run is printed, not asserted (no timed assertions in tests: the machine is shared).
    const est = await studio.estimateRun(settings);
    const at: number[] = [];
    await studio.train(2, settings, (e: TrainEvent) => {
      if (e.status === 'step') at.push(performance.now());
    });
    expect(at.length).toBe(10);
    const measured = ((at[9] as number) - (at[0] as number)) / 1000;
    const predicted = (est.trainFlops * 9) / 10 / sample.flopsPerSec;
    console.log(`warm-up ${(sample.flopsPerSec / 1e9).toFixed(2)} GFLOP/s (${sample.stepSec.toFixed(2)} s per step, warm-up ${sample.warmupSec.toFixed(1)} s); steps 2–10 predicted ${predicted.toFixed(1)} s, measured ${measured.toFixed(1)} s`);

    // A run started during a warm-up stops it and goes on.
    const warm = studio.measureSpeed(3, settings).then(() => 'finished', (e: unknown) => (e as Error).name);
    await new Promise((r) => setTimeout(r, 50));
    const out = await studio.train(4, { ...settings, maxSteps: 2 }, () => {});
    expect(out.status).toBe('done');
    expect(await warm).toBe('AbortError');
  });
});
