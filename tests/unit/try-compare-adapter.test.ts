/**
 * Try it with a comparison of the run history after a reload (issue 20): choosing a comparison's record hands both
 * its stored adapters to the worker (restoreCompareAdapters), so the conventional LoRA answers too, not only the
 * Shadow-FT one; a comparison whose adapters are gone is reported by name. The worker is a stub (vi.mock) that
 * answers like the real one: Instruct + conventional LoRA becomes available once a comparison's adapters are restored.
 */
import { describe, expect, it, vi } from 'vitest';
import { RUN_RECORD_VERSION, type RunRecord } from '../../src/store/runHistory';
import type { AdapterFilesData, SessionSummary, TrainSettings } from '../../src/worker/protocol';

const calls: string[] = [];
vi.mock('../../src/worker/client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/worker/client')>()),
  engineClient: {
    restoreAdapter: vi.fn(async (files: { config: string }) => void calls.push(`train ${files.config}`)),
    restoreCompareAdapters: vi.fn(async (f: Record<'shadow' | 'conventional', { config: string }>) => void calls.push(`compare ${f.shadow.config} + ${f.conventional.config}`)),
    tryItModels: vi.fn(async () => ['base', 'base_lora', 'instruct_conventional'].map((model) => ({ model, label: model, available: model === 'base' || (model === 'base_lora' ? calls.length > 0 : calls.some((c) => c.startsWith('compare'))), why: null }))),
  },
}));

const { useStudio } = await import('../../src/store');

const session = { pairReady: true, pairId: 'pair-1', base: { name: 'b' }, instruct: { name: 'i' } } as unknown as SessionSummary;
const settings = { lora: { r: 8, alpha: 16, dropout: 0 }, learningRate: 1e-3, epochs: 1, maxSteps: 0, batchSize: 8, gradAccum: 1, maxLength: 64, warmupRatio: 0.1, seed: 42, recompute: false } as unknown as TrainSettings;
const files = (c: string): AdapterFilesData => ({ config: c, safetensors: new Blob([]) });
const cmp = (id: string, startedAt: string): RunRecord => ({
  version: RUN_RECORD_VERSION, kind: 'compare', id, startedAt, endedAt: startedAt, status: 'complete', stepsDone: 6, totalSteps: 6, error: null, settings,
  baseModel: 'b', instructModel: 'i', pairId: 'pair-1', points: [], evals: [], log: [], outcome: null, hasAdapter: true, measuredFlopsPerSec: null, device: null,
  compare: { options: { checkRegex: '', evalPrompts: 2, maxNewTokens: 8 }, curves: { shadow: [], conventional: [] }, view: null, hasAdapters: true },
});

describe('Try it and comparisons in the run history', () => {
  it('restores both adapters of the newest comparison after a reload; a missing one is named', async () => {
    useStudio.setState({
      session,
      runs: [cmp('c-new', '2026-12-02T00:00:00Z'), cmp('c-gone', '2026-12-01T00:00:00Z')],
      runAdapter: async () => {
        throw new Error('a comparison restores both adapters, not the run adapter');
      },
      compareAdapters: async (id: string) => (id === 'c-new' ? { shadow: files('shadow of c-new'), conventional: files('conventional of c-new') } : null),
    });
    await useStudio.getState().refreshTryModels();
    expect(calls).toEqual(['compare shadow of c-new + conventional of c-new']);
    const t = useStudio.getState().tryIt;
    expect(t.adapterRunId).toBe('c-new');
    expect(t.models.find((m) => m.model === 'instruct_conventional')?.available).toBe(true);
    await useStudio.getState().setTryAdapterRun('c-gone');
    expect(useStudio.getState().tryIt.error).toMatch(/^Could not use that run's adapter: the comparison of .* has no stored adapters$/);
  });
});
