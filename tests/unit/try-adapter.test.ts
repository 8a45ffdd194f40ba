/**
 * Try it after a reload (issue 20, fault 10): the worker holds no adapter, the run history does; refreshing Try it's
 * models restores the newest adapter of the loaded pair, and any other run of the history can be chosen. The worker
 * is a stub (vi.mock) that answers like the real one: LoRA models become available once an adapter is restored.
 */
import { describe, expect, it, vi } from 'vitest';
import { RUN_RECORD_VERSION, type RunRecord } from '../../src/store/runHistory';
import type { SessionSummary, TrainSettings } from '../../src/worker/protocol';

const restored: string[] = [];
vi.mock('../../src/worker/client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/worker/client')>()),
  engineClient: {
    restoreAdapter: vi.fn(async (files: { config: string }) => void restored.push(files.config)),
    tryItModels: vi.fn(async () => ['base', 'base_lora'].map((model) => ({ model, label: model, available: model === 'base' || restored.length > 0, why: null }))),
  },
}));

const { useStudio } = await import('../../src/store');
const { adapterRunsFor } = await import('../../src/store/tryAdapter');

const session = { pairReady: true, pairId: 'pair-1', base: { name: 'b' }, instruct: { name: 'i' } } as unknown as SessionSummary;
const settings = { lora: { r: 8, alpha: 16, dropout: 0 }, learningRate: 1e-3, epochs: 1, maxSteps: 0, batchSize: 8, gradAccum: 1, maxLength: 64, warmupRatio: 0.1, seed: 42, recompute: false } as unknown as TrainSettings;
const rec = (id: string, startedAt: string, over: Partial<RunRecord> = {}): RunRecord => ({
  version: RUN_RECORD_VERSION, id, startedAt, endedAt: startedAt, status: 'complete', stepsDone: 3, totalSteps: 3, error: null, settings,
  baseModel: 'b', instructModel: 'i', pairId: 'pair-1', points: [], evals: [], log: [], outcome: null, hasAdapter: true, measuredFlopsPerSec: null, device: null, ...over,
});

describe('Try it and the run history', () => {
  it('lists only the runs with an adapter for the loaded pair', () => {
    const runs = [rec('new', '2026-12-02T00:00:00Z'), rec('other-pair', '2026-12-01T12:00:00Z', { pairId: 'pair-2' }), rec('no-adapter', '2026-12-01T11:00:00Z', { hasAdapter: false }), rec('old', '2026-12-01T10:00:00Z')];
    expect(adapterRunsFor(runs, session).map((r) => r.id)).toEqual(['new', 'old']);
    expect(adapterRunsFor(runs, null)).toEqual([]);
  });

  it('restores the newest stored adapter after a reload, and uses another run when chosen', async () => {
    useStudio.setState({
      session,
      runs: [rec('new', '2026-12-02T00:00:00Z'), rec('old', '2026-12-01T10:00:00Z')],
      runAdapter: async (id: string) => ({ config: `config of ${id}`, safetensors: new Blob([]) }),
    });
    await useStudio.getState().refreshTryModels();
    expect(restored).toEqual(['config of new']);
    expect(useStudio.getState().tryIt.adapterRunId).toBe('new');
    expect(useStudio.getState().tryIt.models.find((m) => m.model === 'base_lora')?.available).toBe(true);
    await useStudio.getState().setTryAdapterRun('old');
    expect(restored).toEqual(['config of new', 'config of old']);
    expect(useStudio.getState().tryIt.adapterRunId).toBe('old');
    expect(useStudio.getState().tryIt.error).toBeNull();
  });
});
