/**
 * The run-history slice (store/runHistorySlice.ts) over a slow in-memory backend: a held-out loss that arrives after
 * the final record and its adapter were handed to saveRun stays in the list (issue 20, fault 3: the history showed
 * "–" for Instruct + graft until a reload), and Delete can be undone with the run's adapter bytes (fault 5).
 */
import { describe, expect, it } from 'vitest';
import { createStore } from 'zustand/vanilla';
import { RUN_RECORD_VERSION, RunHistory, type RunRecord } from '../../src/store/runHistory';
import { memoryBackend, type KeyValueBackend } from '../../src/store/runHistoryBackend';
import { runHistorySliceOver } from '../../src/store/runHistorySlice';
import { IDLE_RUN } from '../../src/store/trainingSlice';
import type { StudioState } from '../../src/store/types';
import type { TrainSettings } from '../../src/worker/protocol';

/** A backend whose every call waits a few macrotasks, as IndexedDB does. */
function slowBackend(): KeyValueBackend {
  const m = memoryBackend();
  const later = <T>(f: () => Promise<T>): Promise<T> => new Promise((res, rej) => setTimeout(() => f().then(res, rej), 5));
  return { get: (k) => later(() => m.get(k)), set: (k, v) => later(() => m.set(k, v)), del: (k) => later(() => m.del(k)), keys: () => later(() => m.keys()) };
}

function storeOver(history: RunHistory) {
  const slice = runHistorySliceOver(history);
  return createStore<StudioState>()((set, get, api) => ({ run: IDLE_RUN, ...slice(set, get, api) }) as unknown as StudioState);
}

const settings = { lora: { r: 8, alpha: 16 }, learningRate: 1e-3, batchSize: 1, gradAccum: 1, maxLength: 64 } as unknown as TrainSettings;
function record(over: Partial<RunRecord> = {}): RunRecord {
  return {
    version: RUN_RECORD_VERSION, id: 'run-a', startedAt: '2026-12-01T10:00:00.000Z', endedAt: null, status: 'running', stepsDone: 0, totalSteps: 3, error: null, settings,
    baseModel: 'b', instructModel: 'i', pairId: 'p', points: [], evals: [], log: [], outcome: null, hasAdapter: false, measuredFlopsPerSec: null, device: null, ...over,
  };
}
const adapter = { config: '{"r":8}', safetensors: new Blob([new Uint8Array([7, 8, 9])]) };

describe('run history slice', () => {
  it('keeps a held-out loss saved after the adapter (a late event) in the list, not only after a reload', async () => {
    const history = new RunHistory(slowBackend());
    const store = storeOver(history);
    const s = store.getState();
    const final = record({ status: 'complete', stepsDone: 3 });
    const done = s.saveRun(final, adapter);
    // The Instruct + graft evaluation arrives on its own port after the result: runTracking re-saves the final record.
    const late = record({ status: 'complete', stepsDone: 3, hasAdapter: true, evals: [{ model: 'instruct+graft', when: 'after', loss: 1.25 }] });
    const again = s.saveRun(late);
    await done;
    await again;
    const shown = store.getState().runs.find((r) => r.id === 'run-a');
    expect(shown?.evals).toEqual(late.evals);
    expect(shown?.hasAdapter).toBe(true);
    expect((await history.get('run-a'))?.evals).toEqual(late.evals);
  });

  it('deletes a run with its adapter and puts both back on Undo', async () => {
    const history = new RunHistory(memoryBackend());
    const store = storeOver(history);
    await store.getState().saveRun(record({ status: 'complete', stepsDone: 3 }), adapter);
    store.getState().selectExportRun('run-a');
    await store.getState().deleteRun('run-a');
    expect(store.getState().runs).toEqual([]);
    expect(store.getState().exportRunId).toBeNull();
    expect(await history.get('run-a')).toBeNull();
    expect(store.getState().deletedRun?.record.id).toBe('run-a');
    await store.getState().undoDelete();
    expect(store.getState().deletedRun).toBeNull();
    expect(store.getState().runs.map((r) => [r.id, r.hasAdapter])).toEqual([['run-a', true]]);
    expect(store.getState().exportRunId).toBe('run-a');
    const back = await history.adapter('run-a');
    expect([...new Uint8Array(await back!.safetensors.arrayBuffer())]).toEqual([7, 8, 9]);
  });
});
