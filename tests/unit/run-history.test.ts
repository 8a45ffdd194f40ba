/**
 * The run history (store/runHistory.ts) over the in-memory backend: runs never replace each other, each keeps its
 * own adapter bytes, deletion removes only that run, listing is newest first, records of another schema version
 * are ignored, and status labels say complete / cancelled at k/n / failed with the error / interrupted.
 */
import { describe, expect, it } from 'vitest';
import { newRunId, RUN_RECORD_VERSION, RunHistory, settingsSummary, statusLabel, trainedAtZeroLr, type RunRecord } from '../../src/store/runHistory';
import { memoryBackend } from '../../src/store/runHistoryBackend';
import type { TrainSettings } from '../../src/worker/protocol';

const settings = { lora: { r: 8 }, maxSteps: 3 } as unknown as TrainSettings;

function record(id: string, startedAt: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    version: RUN_RECORD_VERSION, id, startedAt, endedAt: null, status: 'running', stepsDone: 0, totalSteps: 3, error: null, settings,
    baseModel: 'b', instructModel: 'i', pairId: 'p', points: [], evals: [], log: [], outcome: null, hasAdapter: false, measuredFlopsPerSec: null, device: null, ...over,
  };
}
const bytes = async (b: Blob): Promise<number[]> => [...new Uint8Array(await b.arrayBuffer())];

describe('RunHistory', () => {
  it('keeps every run with its own adapter; a cancelled run replaces nothing', async () => {
    const h = new RunHistory(memoryBackend());
    await h.put(record('a', '2026-12-01T10:00:00.000Z'));
    await h.putAdapter('a', { config: '{"r":8}', safetensors: new Blob([new Uint8Array([1, 2, 3])]) });
    await h.put({ ...(await h.get('a'))!, status: 'complete', stepsDone: 3 });
    await h.put(record('b', '2026-12-01T11:00:00.000Z'));
    await h.putAdapter('b', { config: '{"r":8}', safetensors: new Blob([new Uint8Array([9])]) });
    await h.put({ ...(await h.get('b'))!, status: 'cancelled', stepsDone: 1 });
    const list = await h.list();
    expect(list.map((r) => [r.id, r.status, r.stepsDone, r.hasAdapter])).toEqual([['b', 'cancelled', 1, true], ['a', 'complete', 3, true]]);
    expect(await bytes((await h.adapter('a'))!.safetensors)).toEqual([1, 2, 3]);
    expect(await bytes((await h.adapter('b'))!.safetensors)).toEqual([9]);
  });

  it('deletes one run and its adapter only; ignores other schema versions; refuses an adapter for an unknown run', async () => {
    const h = new RunHistory(memoryBackend());
    await h.put(record('a', '2026-12-01T10:00:00.000Z'));
    await h.put(record('b', '2026-12-01T11:00:00.000Z'));
    await h.putAdapter('a', { config: '{}', safetensors: new Blob([new Uint8Array([1])]) });
    await h.remove('a');
    expect((await h.list()).map((r) => r.id)).toEqual(['b']);
    expect(await h.adapter('a')).toBeNull();
    await h.put({ ...record('old', '2026-12-01T12:00:00.000Z'), version: RUN_RECORD_VERSION + 1 });
    expect((await h.list()).map((r) => r.id)).toEqual(['b']);
    await expect(h.putAdapter('nope', { config: '{}', safetensors: new Blob([]) })).rejects.toThrow('run nope is not in the history');
  });

  it('run ids are unique and sort by start time', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newRunId(1000)));
    expect(ids.size).toBe(200);
    expect(newRunId(1000) < newRunId(2000)).toBe(true);
  });

  it('status labels and the zero-lr check', () => {
    expect(statusLabel({ status: 'complete', stepsDone: 3, totalSteps: 3, error: null }, false)).toBe('complete (3/3 steps)');
    expect(statusLabel({ status: 'cancelled', stepsDone: 1, totalSteps: 3, error: null }, false)).toBe('cancelled at 1/3');
    expect(statusLabel({ status: 'failed', stepsDone: 0, totalSteps: 3, error: 'device lost' }, false)).toBe('failed at 0/3: device lost');
    expect(statusLabel({ status: 'running', stepsDone: 2, totalSteps: 3, error: null }, false)).toContain('interrupted at 2/3');
    expect(statusLabel({ status: 'running', stepsDone: 2, totalSteps: 3, error: null }, true)).toBe('running (2/3)');
    expect(trainedAtZeroLr([{ step: 1, loss: 1, learningRate: 0, gradNorm: 1 }])).toBe(true);
    expect(trainedAtZeroLr([{ step: 1, loss: 1, learningRate: 0, gradNorm: 1 }, { step: 2, loss: 1, learningRate: 1e-3, gradNorm: 1 }])).toBe(false);
    expect(trainedAtZeroLr([])).toBe(false);
  });
});

describe('settingsSummary', () => {
  it('tells a 114-step run from a 30-step run with the same LoRA and batch (issue 20, fault 9)', () => {
    const base = { lora: { r: 8, alpha: 16, dropout: 0 }, learningRate: 1e-3, epochs: 3, maxSteps: 0, batchSize: 8, gradAccum: 1, maxLength: 64, warmupRatio: 0.1, seed: 42, recompute: false } as unknown as TrainSettings;
    const long = settingsSummary({ settings: base, totalSteps: 114 });
    const short = settingsSummary({ settings: { ...base, maxSteps: 30 }, totalSteps: 30 });
    expect(long).toBe('r 8, α 16, lr 0.001, batch 8×1, max length 64, 3 epochs → 114 steps, warmup 10%, seed 42');
    expect(short).toBe('r 8, α 16, lr 0.001, batch 8×1, max length 64, max 30 steps → 30 steps, warmup 10%, seed 42');
  });

  it('names the objective of a stage dpo run', () => {
    const base = { lora: { r: 8, alpha: 16, dropout: 0 }, learningRate: 1e-3, epochs: 1, maxSteps: 0, batchSize: 2, gradAccum: 1, maxLength: 64, warmupRatio: 0.1, seed: 42, recompute: false } as unknown as TrainSettings;
    expect(settingsSummary({ settings: { ...base, stage: 'dpo' }, totalSteps: 5 })).toBe('DPO (sigmoid, β 0.1), r 8, α 16, lr 0.001, batch 2×1, max length 64, 1 epoch → 5 steps, warmup 10%, seed 42');
    expect(settingsSummary({ settings: { ...base, stage: 'dpo', prefLoss: 'ipo', prefBeta: 0.5, prefFtx: 0.2 }, totalSteps: 5 })).toMatch(/^DPO \(ipo, β 0\.5, ftx 0\.2\), r 8,/);
  });
});
