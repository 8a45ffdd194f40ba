/**
 * The estimate of a comparison (app/compareEstimate.ts) on the bundled demo: the training plan of the settings, every
 * held-out row evaluated (no Held-out rows limit), min(Eval prompts, held-out rows) answers per model counted as a
 * forward over prompt + Answer tokens.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/app/session';
import { estimateCompare } from '../../src/app/compareEstimate';
import { estimateRun, forwardFlops } from '../../src/app/runEstimate';
import { defaultSettingsFor } from '../../src/app/training';
import { requiredStepFlops } from '../../src/engine/plan/flops';
import { DEFAULT_COMPARE_OPTIONS } from '../../src/app/compare/types';

const DEMO = 'public/demo';
const m = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] }; dataset: { train: string; heldout: string } };

describe('compare estimate', () => {
  it('plans the trainings, every held-out row and the answers', async () => {
    const s = new Session();
    const paths = [...m.base.files.map((f) => `${m.base.name}/${f}`), ...m.instruct.files.map((f) => `${m.instruct.name}/${f}`), m.dataset.train, m.dataset.heldout];
    await s.add(await Promise.all(paths.map(async (path) => ({ path, file: await openAsBlob(`${DEMO}/${path}`) }))));
    const settings = { ...defaultSettingsFor(s), maxSteps: 3, heldoutRows: 8, evalSteps: 1 };
    const e = await estimateCompare(s, settings, { ...DEFAULT_COMPARE_OPTIONS, evalPrompts: 100, maxNewTokens: 16 });
    const run = await estimateRun(s, settings);
    expect(e.run.totalSteps).toBe(3);
    expect(e.run.trainFlops).toBe(run.trainFlops);
    // Every held-out row, whatever Held-out rows says; no evaluation during training.
    expect(e.run.heldoutRows).toMatchObject({ used: 60, available: 60, auto: false });
    expect(e.run.evalsDuringTraining).toBe(0);
    expect(e.run.evalPassFlops).toBeGreaterThan(run.evalPassFlops);
    expect(e.prompts).toBe(60);
    expect(e.models).toBe(5);
    const cfg = s.requirePair().base.config;
    const T = Math.round(e.run.heldoutMeanTokens) + 16;
    const per = (forwardFlops(requiredStepFlops(cfg, settings.lora, 1, T)) + forwardFlops(requiredStepFlops(cfg, { ...settings.lora, targetModules: [] }, 1, T))) / 2;
    expect(e.answerFlops).toBeCloseTo(60 * per, 0);
  });
});
