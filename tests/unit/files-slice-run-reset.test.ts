/**
 * Clear / Load demo after a failed run (issue 20, fault 4): the failed run's red banner does not stay under the new
 * pair's Start button; a running run is never touched. The worker is replaced by a stub (vi.mock).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionSummary } from '../../src/worker/protocol';

const empty: SessionSummary = { base: null, instruct: null, pairReady: false, pairId: null, decidedBy: null, otherModels: [], datasets: [], ignored: [], errors: [], warnings: [], trainExamples: 0, heldoutExamples: 0, fileCount: 0 };
const pair = (name: string): SessionSummary => ({ ...empty, pairReady: true, pairId: name, base: { name: `${name}-base` }, instruct: { name: `${name}-instruct` } } as unknown as SessionSummary);

vi.mock('../../src/worker/client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/worker/client')>()),
  engineClient: {
    clearFiles: vi.fn(async () => empty),
    addFiles: vi.fn(async () => pair('other')),
    defaultSettings: vi.fn(async () => { throw new Error('not in this test'); }),
    computeSimilarity: vi.fn(async () => { throw new Error('not in this test'); }),
  },
}));

const { useStudio } = await import('../../src/store');
const { IDLE_RUN } = await import('../../src/store/trainingSlice');

describe('files slice and the last run', () => {
  beforeEach(() => useStudio.setState({ session: pair('demo'), similarity: { status: 'running', progress: null, result: null, error: null } }));

  it('clears a failed run when the pair goes away (Clear)', async () => {
    useStudio.setState({ run: { ...IDLE_RUN, runId: 'run-x', status: 'error', error: 'Instruct has no tokenizer files' } });
    await useStudio.getState().clearFiles();
    expect(useStudio.getState().run.status).toBe('idle');
    expect(useStudio.getState().run.error).toBeNull();
  });

  it('clears a failed run when another pair is loaded, keeps a running one', async () => {
    useStudio.setState({ run: { ...IDLE_RUN, runId: 'run-x', status: 'error', error: 'boom' } });
    await useStudio.getState().addFiles([]);
    expect(useStudio.getState().run.error).toBeNull();
    useStudio.setState({ session: pair('demo'), run: { ...IDLE_RUN, runId: 'run-y', status: 'running' } });
    await useStudio.getState().clearFiles();
    expect(useStudio.getState().run.status).toBe('running');
  });
});
