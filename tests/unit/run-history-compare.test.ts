/**
 * A comparison in the run history (issue 20): its record (kind "compare", store/compareRun.ts compareRecord) with
 * both curves and its options, its two adapters (the Shadow-FT one as the record's adapter, the conventional one
 * beside it), listed with its settings, deleted with both adapters and put back by Undo (store/runHistorySlice.ts),
 * over an in-memory backend.
 */
import { describe, expect, it } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { compareRecord } from '../../src/store/compareRun';
import { RunHistory, settingsSummary, statusLabel } from '../../src/store/runHistory';
import { memoryBackend } from '../../src/store/runHistoryBackend';
import { runHistorySliceOver } from '../../src/store/runHistorySlice';
import { IDLE_RUN } from '../../src/store/trainingSlice';
import type { StudioState } from '../../src/store/types';
import type { CompareView, TrainSettings } from '../../src/worker/protocol';

const settings = { lora: { r: 8, alpha: 16, dropout: 0 }, learningRate: 1e-3, batchSize: 4, gradAccum: 1, maxLength: 64, maxSteps: 0, epochs: 1, warmupRatio: 0.1, seed: 42 } as unknown as TrainSettings;
const who = { id: 'run-c', startedAt: '2026-12-01T10:00:00.000Z', settings, options: { checkRegex: '^Title: ', evalPrompts: 30, maxNewTokens: 64 }, baseModel: 'b', instructModel: 'i', pairId: 'p', device: 'cpu' };
const curves = { shadow: [{ step: 1, loss: 2 }, { step: 2, loss: 1.5 }], conventional: [{ step: 1, loss: 1.8 }] };
const files = (n: number) => ({ config: `{"r":${n}}`, safetensors: new Blob([new Uint8Array([n, n + 1])]) });

function storeOver(history: RunHistory) {
  const slice = runHistorySliceOver(history);
  return createStore<StudioState>()((set, get, api) => ({ run: IDLE_RUN, ...slice(set, get, api) }) as unknown as StudioState);
}

describe('comparisons in the run history', () => {
  it('records both curves and counts both trainings; lists its options in the settings', () => {
    const r = compareRecord(who, { curves, totalSteps: { shadow: 2, conventional: 2 }, log: ['a'] }, 'running', null, null, 2);
    expect(r).toMatchObject({ kind: 'compare', id: 'run-c', status: 'running', stepsDone: 3, totalSteps: 4, endedAt: null, compare: { options: who.options, curves, view: null, hasAdapters: false } });
    expect(statusLabel(r, false)).toBe('interrupted at 3/4 (the page was closed or reloaded)');
    expect(settingsSummary(r)).toBe('Compare (30 prompts × 64 tokens, check ^Title: ), r 8, α 16, lr 0.001, batch 4×1, max length 64, 1 epoch → 2 × 2 steps, warmup 10%, seed 42');
    // before the first step event the estimate's steps per run count
    expect(compareRecord(who, { curves: { shadow: [], conventional: [] }, totalSteps: { shadow: 0, conventional: 0 }, log: [] }, 'cancelled', null, null, 5).totalSteps).toBe(10);
  });

  it('stores both adapters with the record; Delete removes both, Undo puts both back', async () => {
    const history = new RunHistory(memoryBackend());
    const store = storeOver(history);
    const view = { result: {}, wording: {}, samples: [] } as unknown as CompareView;
    const done = compareRecord(who, { curves, totalSteps: { shadow: 2, conventional: 2 }, log: [] }, 'complete', null, view, 2);
    await store.getState().saveRun(done, files(1), files(5));
    const listed = (await history.list())[0];
    expect(listed).toMatchObject({ id: 'run-c', kind: 'compare', hasAdapter: true, compare: { hasAdapters: true, view } });
    expect(store.getState().runs[0]).toMatchObject({ hasAdapter: true, compare: { hasAdapters: true } });
    const both = await store.getState().compareAdapters('run-c');
    expect(both?.shadow.config).toBe('{"r":1}');
    expect(both?.conventional.config).toBe('{"r":5}');

    await store.getState().deleteRun('run-c');
    expect(await history.list()).toEqual([]);
    expect(await history.compareAdapters('run-c')).toBeNull();
    expect(await history.conventional('run-c')).toBeNull();
    await store.getState().undoDelete();
    const back = await history.compareAdapters('run-c');
    expect(back?.conventional.config).toBe('{"r":5}');
    expect(new Uint8Array(await (back?.conventional.safetensors as Blob).arrayBuffer())).toEqual(new Uint8Array([5, 6]));
    expect((await history.get('run-c'))?.compare?.hasAdapters).toBe(true);
  });
});
